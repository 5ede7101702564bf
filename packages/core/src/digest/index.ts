// Public API of the digest security package: explicit named exports only.
export {};

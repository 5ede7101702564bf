// Public API of the basic security package: explicit named exports only.
export {};

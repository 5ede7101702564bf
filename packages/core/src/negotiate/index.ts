// Public API of the negotiate security package: explicit named exports only.
export {};

// Public API of the kerberos security package: explicit named exports only.
export {};

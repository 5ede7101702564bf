// Public API of the ntlm security package: explicit named exports only.
export {};

// Public API of NTLM pass-through to Active Directory (MS-NRPC): explicit named exports only.
export { domainControllerVerifier } from './verifier.js';
export type {
  DomainControllerOptions,
  DomainControllerServer,
  DomainControllerVerifier,
  DomainLogonResult,
} from './verifier.js';
export type { SamInfo4 } from './sam-logon.js';
export type { MachineSecretOptions } from './machine-secret.js';

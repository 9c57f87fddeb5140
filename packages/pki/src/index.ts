/** The platform's certificate authority and the identities it gives gateways and sidecars. */
export { createAuthority, loadOrCreateAuthority, type Authority } from "./authority.js";
export { issueCertificate, type IssuedCertificate, type Role } from "./issue.js";
export { identityOf, type Identity } from "./identity.js";

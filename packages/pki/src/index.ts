/** The platform's certificate authority and the identities it gives gateways, sidecars and agents. */
export { createAuthority, loadOrCreateAuthority, type Authority } from "./authority.js";
export { issueCertificate, roles, type IssuedCertificate, type Role } from "./issue.js";
export { identityOf, type Identity } from "./identity.js";
export { admitPeer, checkServerRole, isRefusal, type AdmittedPeer, type PeerRefusal } from "./peer.js";

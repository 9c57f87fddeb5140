import type { Whoami } from "./api.js";

/**
 * The signed-in credential lives in sessionStorage: it survives a reload of the tab but not
 * the tab itself, and is never written to localStorage or a cookie (no CSRF surface).
 */
const storageKey = "isle.console.token";

export interface Session {
  token: string;
  who: Whoami;
}

export function savedToken(): string | null {
  return sessionStorage.getItem(storageKey);
}

export function saveToken(token: string): void {
  sessionStorage.setItem(storageKey, token);
}

export function forgetToken(): void {
  sessionStorage.removeItem(storageKey);
}

/** Whether the credential may list, create and revoke the tenant's keys (`admin`, not restricted to a function). */
export function canManageKeys(who: Whoami): boolean {
  return who.kind === "operator" || (who.scopes.includes("admin") && who.functionName === null);
}

/** Whether the credential may list secret names (`admin`). */
export function canReadSecrets(who: Whoami): boolean {
  return who.kind === "operator" || who.scopes.includes("admin");
}

/** Whether the credential sees the whole tenant (a key restricted to one function does not). */
export function seesWholeTenant(who: Whoami): boolean {
  return who.kind === "operator" || who.functionName === null;
}

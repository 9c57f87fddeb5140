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

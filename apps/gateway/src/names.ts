/** Tenant and function names are DNS labels: they appear in host names. */
export const dnsLabelPattern = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;

export function isDnsLabel(value: string): boolean {
  return dnsLabelPattern.test(value);
}

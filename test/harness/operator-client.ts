/** The management API of one gateway, called with the operator token, as the tests use it. */
export class OperatorClient {
  constructor(
    readonly baseUrl: string,
    private readonly adminToken: () => string,
  ) {}

  async operator(path: string, init: RequestInit = {}): Promise<Response> {
    const headers = new Headers(init.headers);
    headers.set("authorization", `Bearer ${this.adminToken()}`);
    return fetch(`${this.baseUrl}${path}`, { ...init, headers });
  }

  async createTenant(name: string): Promise<void> {
    const res = await this.operator("/v1/tenants", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ name }),
    });
    if (res.status !== 201) throw new Error(`create tenant ${name}: ${res.status} ${await res.text()}`);
  }

  /** Deploys files (path → source) as a function; returns the raw response. */
  async deploy(tenant: string, fn: string, files: Record<string, string>): Promise<Response> {
    const form = new FormData();
    for (const [path, text] of Object.entries(files)) form.append("file", new Blob([text]), path);
    return this.operator(`/v1/tenants/${tenant}/functions/${fn}/deployments`, { method: "POST", body: form });
  }

  /** Sets function settings (PUT /v1/tenants/:tenant/functions/:function). */
  async configure(tenant: string, fn: string, settings: Record<string, unknown>): Promise<void> {
    const res = await this.operator(`/v1/tenants/${tenant}/functions/${fn}`, {
      method: "PUT",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(settings),
    });
    if (res.status !== 200) throw new Error(`configure ${tenant}/${fn}: ${res.status} ${await res.text()}`);
  }

  /** Deploys a fixture and makes it invokable without a key. */
  async deployPublic(tenant: string, fn: string, files: Record<string, string>): Promise<void> {
    const res = await this.deploy(tenant, fn, files);
    if (res.status !== 201) throw new Error(`deploy ${tenant}/${fn}: ${res.status} ${await res.text()}`);
    await this.configure(tenant, fn, { visibility: "public" });
  }
}

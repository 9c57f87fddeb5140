import { lookup } from "node:dns/promises";
import { isIP } from "node:net";
import { addressKind, unbracket, type CidrList } from "@isle/config";
import type { InvocationEgress, InvocationRegistry } from "./invocation-registry.js";

/** One outbound attempt of a function, as the supervisor's egress entrypoint reports it. */
export interface EgressQuery {
  isolateId: string;
  /** The invocation the isolate's fetch wrapper tagged the request with, if any. */
  invocationId: string | null;
  /** fetch(): an absolute URL; connect(): `host:port`; call: a URL whose host is a function name. */
  kind: "fetch" | "connect" | "call";
  target: string;
}

/** Why an attempt was refused; the function sees the message in the error its fetch() rejects with. */
export type RefusalCode = "egress_refused" | "subrequest_limit" | "no_invocation";

/** Headers the egress adds: `set` over the function's own, `defaults` only where it set none. */
export interface AddedHeaders {
  set: Record<string, string>;
  defaults: Record<string, string>;
}

export type EgressVerdict =
  | ({ allow: true; route: "internet" } & AddedHeaders)
  /** To the gateway, at `url`. */
  | ({ allow: true; route: "gateway"; url: string } & AddedHeaders)
  | { allow: false; code: RefusalCode; message: string };

export interface EgressPolicyOptions {
  registry: InvocationRegistry;
  /** Destinations the operator opened (ISLE_EGRESS_ALLOW). */
  allow: CidrList;
  /** The platform's own addresses and the operator's extra refusals; checked before `allow`. */
  deny: CidrList;
  /** Where function calls go: the gateway's invoke URL as this agent reaches it. */
  gatewayUrl: URL;
  /** Origins that name the gateway in a function's code (its documented public URLs). */
  gatewayOrigins: readonly string[];
  /** ISLE_DOMAIN: `<function>--<tenant>.<domain>` hosts are function calls too. */
  domain: string | undefined;
  /** Resolves a host name to every address; injected by tests. */
  resolve?: (host: string) => Promise<string[]>;
  /** Told the code of every refusal (the agent counts them in its metrics). */
  onRefused?: (code: RefusalCode) => void;
}

/** Header the gateway reads a function call's proof from. */
export const callTokenHeader = "x-isle-call-token";

const functionName = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;

/**
 * The first egress layer: decides, in the agent, whether an outbound request
 * of a function may leave and by which route. Function calls (a documented
 * gateway URL, `http://gateway/function/<name>`, or the FUNCTIONS binding) go
 * to the gateway with the invocation's call token; everything else goes to
 * workerd's network service, only to public addresses or operator-allowed
 * ones, with names resolved here first. workerd's network allow-list checks
 * the address it actually connects to again: the second layer, which also
 * closes the gap of a name that resolves differently a moment later.
 */
export class EgressPolicy {
  private readonly options: EgressPolicyOptions;
  private readonly resolve: (host: string) => Promise<string[]>;

  constructor(options: EgressPolicyOptions) {
    this.options = options;
    this.resolve = options.resolve ?? (async (host) => (await lookup(host, { all: true })).map((a) => a.address));
  }

  async decide(query: EgressQuery): Promise<EgressVerdict> {
    const verdict = await this.judge(query);
    if (!verdict.allow) this.options.onRefused?.(verdict.code);
    return verdict;
  }

  private async judge(query: EgressQuery): Promise<EgressVerdict> {
    const invocation = this.options.registry.attribute(query.isolateId, query.invocationId);
    if (!invocation) return refuse("no_invocation", "outbound requests are only allowed while the function handles a request");
    if (!this.options.registry.count(invocation)) {
      return refuse("subrequest_limit", `this invocation reached its limit of ${invocation.maxSubrequests} subrequests`);
    }
    if (query.kind === "connect") return this.checkDestination(hostOfAuthority(query.target), invocation);

    let url: URL;
    try {
      url = new URL(query.target);
    } catch {
      return refuse("egress_refused", "not an absolute URL");
    }
    if (url.protocol !== "http:" && url.protocol !== "https:") return refuse("egress_refused", `${url.protocol} is not allowed`);
    if (query.kind === "call") return this.functionCall(url, invocation);

    const call = this.platformRoute(url, invocation);
    if (call) return call;
    return this.checkDestination(url.hostname, invocation);
  }

  /** `env.FUNCTIONS.fetch("http://<function>/path")`: a function of the caller's own tenant. */
  private functionCall(url: URL, invocation: InvocationEgress): EgressVerdict {
    if (!functionName.test(url.hostname)) return refuse("egress_refused", `"${url.hostname}" is not a function name`);
    const target = new URL(`/fn/${invocation.tenantName}/${url.hostname}${url.pathname}${url.search}`, this.options.gatewayUrl);
    return this.toGateway(target.href, invocation, true);
  }

  /** Requests to the gateway under one of the names a function may know it by. */
  private platformRoute(url: URL, invocation: InvocationEgress): EgressVerdict | undefined {
    const { gatewayOrigins, gatewayUrl, domain } = this.options;
    if (gatewayOrigins.includes(url.origin)) {
      const path = `${url.pathname}${url.search}`;
      return this.toGateway(new URL(path, gatewayUrl).href, invocation, url.pathname.startsWith("/fn/"));
    }
    // OpenFaaS functions call http://gateway/function/<name>, meaning their own tenant.
    if (url.hostname === "gateway") {
      const match = /^\/function\/([^/]+)(\/.*)?$/.exec(url.pathname);
      if (!match?.[1]) return refuse("egress_refused", "http://gateway/ only serves /function/<name>");
      const target = new URL(`/fn/${invocation.tenantName}/${match[1]}${match[2] ?? "/"}${url.search}`, gatewayUrl);
      return this.toGateway(target.href, invocation, true);
    }
    if (domain && url.hostname.endsWith(`.${domain}`) && url.hostname.slice(0, -domain.length - 1).includes("--")) {
      // Keep the host: the gateway routes by it. Only the connection goes to gatewayUrl.
      return this.toGateway(url.href, invocation, true);
    }
    return undefined;
  }

  private toGateway(url: string, invocation: InvocationEgress, isFunctionCall: boolean): EgressVerdict {
    const set: Record<string, string> = {};
    // Only calls of functions carry the token; the management API wants an API key like any client.
    if (isFunctionCall && invocation.callToken) set[callTokenHeader] = invocation.callToken;
    return { allow: true, route: "gateway", url, set, defaults: traceHeaders(invocation) };
  }

  private async checkDestination(hostname: string, invocation: InvocationEgress): Promise<EgressVerdict> {
    const open: EgressVerdict = { allow: true, route: "internet", set: {}, defaults: traceHeaders(invocation) };
    // "localhost." is "localhost": a fully qualified name may end with the root's dot.
    const host = unbracket(hostname).toLowerCase().replace(/\.$/, "");
    if (isIP(host)) {
      const refusal = this.refusalFor(host);
      return refusal ? refuse("egress_refused", `${hostname} is ${refusal}`) : open;
    }
    if (host === "localhost" || host.endsWith(".localhost")) return refuse("egress_refused", `${hostname} is loopback`);
    let addresses: string[];
    try {
      addresses = await this.resolve(host);
    } catch {
      // Unresolvable here means unresolvable for workerd too: let its error speak.
      return open;
    }
    for (const address of addresses) {
      const refusal = this.refusalFor(address);
      if (refusal) return refuse("egress_refused", `${hostname} resolves to ${address}, which is ${refusal}`);
    }
    return open;
  }

  /** Why `address` may not be reached, or undefined when it may. */
  private refusalFor(address: string): string | undefined {
    if (this.options.deny.has(address)) return "an address of the platform itself";
    if (this.options.allow.has(address)) return undefined;
    const kind = addressKind(address);
    return kind === "public" ? undefined : `${kind.replace(/_/g, " ")} and not allowed`;
  }
}

function refuse(code: RefusalCode, message: string): EgressVerdict {
  return { allow: false, code, message };
}

/** The trace context the invocation came with, carried on by its outbound requests. */
function traceHeaders(invocation: InvocationEgress): Record<string, string> {
  const headers: Record<string, string> = {};
  if (invocation.traceparent) headers["traceparent"] = invocation.traceparent;
  if (invocation.tracestate) headers["tracestate"] = invocation.tracestate;
  return headers;
}

/** The host of `host:port` or `[v6]:port`. */
function hostOfAuthority(authority: string): string {
  if (authority.startsWith("[")) return authority.slice(0, authority.indexOf("]") + 1);
  const colon = authority.lastIndexOf(":");
  return colon === -1 ? authority : authority.slice(0, colon);
}

import type { MethodDefinition } from "@grpc/grpc-js";
import { AgentService } from "./gen/isle/agent/v1/agent.js";

const identity = (value: Buffer): Buffer => value;

/**
 * The Agent.Invoke method with identity (de)serializers: a proxy that uses it
 * moves each frame as the bytes it received, never decoding a body.
 */
export const passthroughInvokeMethod: MethodDefinition<Buffer, Buffer> = {
  path: AgentService.invoke.path,
  requestStream: true,
  responseStream: true,
  requestSerialize: identity,
  requestDeserialize: identity,
  responseSerialize: identity,
  responseDeserialize: identity,
};

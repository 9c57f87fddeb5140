import type { ChannelOptions } from "@grpc/grpc-js";

/**
 * Channel options every Isle hop uses. Channelz and grpc-js' own retries cost
 * ~18 % of throughput on this kind of machine (bench/README.md) and Isle
 * decides retries itself. Reconnect backoff is capped low so a restarted agent
 * or sidecar is used again within about a second.
 */
export const grpcChannelOptions: ChannelOptions = {
  "grpc.enable_channelz": 0,
  "grpc.enable_retries": 0,
  "grpc.initial_reconnect_backoff_ms": 100,
  "grpc.min_reconnect_backoff_ms": 100,
  "grpc.max_reconnect_backoff_ms": 1000,
  "grpc.keepalive_time_ms": 10_000,
  "grpc.keepalive_timeout_ms": 5_000,
  "grpc.max_receive_message_length": 8 * 1024 * 1024,
  "grpc.max_send_message_length": 8 * 1024 * 1024,
};

/**
 * The namespace lab for RIPv2 interoperability tests and the testbed: the public entry point.
 *
 * Builds small topologies of Linux network namespaces joined by veth pairs, runs real routing
 * daemons (FRR 8.4 zebra+ripd, BIRD 2.0.x) inside them with fast timers, and offers what a test
 * needs: kernel routes, waiting for a route, ping with per-sequence loss accounting, packet
 * capture and a Node RIP listener inside a namespace. Real daemons and kernel tables, because
 * only they show that the engine interoperates and keeps forwarding while it upgrades itself.
 *
 * Rules kept throughout: traffic stays inside namespaces the lab creates (or loopback); every
 * wait is bounded in time; everything started is torn down by `cleanup()`, also on exit and on
 * SIGINT/SIGTERM/SIGHUP; every name carries a per-process prefix so parallel runs never collide.
 * Needs root, iproute2, iputils-ping, tcpdump, frr and bird2 (Debian packages).
 */
export { hostAddr, normalizePrefix, parseCidr } from './addresses.js';
export type { BirdRipInstance, BirdRipOptions } from './bird.js';
export type { Capture, CaptureOptions } from './capture.js';
export type { EngineInstance, EngineProcessOptions } from './engine.js';
export type { FrrRipInstance, FrrRipOptions, RipTimers } from './frr.js';
export { Lab, type LabOptions } from './lab.js';
export type { LabProcess, SpawnOptions } from './lab-process.js';
export { sweepStaleLabs } from './namespaces.js';
export {
  type PingOptions,
  type PingOutage,
  type PingReply,
  type PingResult,
  type PingStream,
  parsePing,
  type StreamPingOptions,
} from './ping-result.js';
export { type ExecOptions, type ExecResult, sleep } from './processes.js';
export type { RipListener, UdpDatagram } from './rip-listener.js';
export { parseRipPacket, type RipEntry, type RipPacket } from './rip-packet.js';
export type { KernelRoute, WaitForRouteOptions, WaitForRouteResult } from './routes.js';
export { type Availability, netnsAvailable, TOOL_PATHS } from './tools.js';
export type { Endpoint, LinkInfo, LinkOptions, StubInfo } from './topology.js';

// `hotswap start --fleet … --node …`: joins the running engine to its fleet, with the same
// signature check as the control API's uploads when a trusted key is configured.
import type { EngineConfig } from '../config.js';
import { loadPublicKey, SignatureCheck } from '../control/signatures.js';
import type { Engine } from '../engine.js';
import { FleetAgent } from '../fleet/agent.js';
import type { Logger } from '../log.js';

/** The engine's fleet agent, or null when the configuration names no fleet. */
export function joinFleet(config: EngineConfig, engine: Engine, log: Logger): FleetAgent | null {
  const fleet = config.fleet;
  if (!fleet) return null;
  const check = config.control.trustedKey ? new SignatureCheck(loadPublicKey(config.control.trustedKey)) : null;
  log.info(`fleet: joining ${fleet.servers.join(',')} as node ${fleet.node}`);
  return FleetAgent.start(engine, {
    servers: fleet.servers,
    node: fleet.node,
    ...(fleet.domain !== undefined ? { domain: fleet.domain } : {}),
    logger: log.child('fleet'),
    ...(check ? { verify: (what: string, bytes: Uint8Array, sig: string | undefined) => check.verify(what, bytes, sig) } : {}),
    ...(fleet.heartbeatMs !== undefined ? { heartbeatMs: fleet.heartbeatMs } : {}),
    ...(fleet.pollMs !== undefined ? { pollMs: fleet.pollMs } : {}),
  });
}

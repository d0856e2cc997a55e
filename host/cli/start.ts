// `hotswap start`: runs the engine with its control plane (and its fleet agent, if configured) in
// this process until SIGINT or SIGTERM.
import { loadConfig } from '../config.js';
import { ControlPlane } from '../control/plane.js';
import { Logger } from '../log.js';
import { joinFleet } from './fleet-node.js';
import type { Values } from './options.js';

export async function start(values: Values): Promise<number> {
  const config = loadConfig(values.config, {
    ...(values.listen?.length ? { listen: values.listen.at(-1)! } : {}),
    ...(values.control ? { control: values.control } : {}),
    ...(values['data-dir'] ? { dataDir: values['data-dir'] } : {}),
    ...(values['log-level'] ? { logLevel: values['log-level'] } : {}),
    ...(values['log-format'] ? { logFormat: values['log-format'] } : {}),
    ...(values.fleet ? { fleet: values.fleet } : {}),
    ...(values.node ? { node: values.node } : {}),
  });
  if (values.token) config.control.token = values.token;
  const log = new Logger('engine', config.logLevel, undefined, config.logFormat);
  // The control server logs "control endpoint on http://…" itself, once per bound address.
  const plane = await ControlPlane.start(config, { logger: log });
  const engine = plane.engine;
  const fleet = joinFleet(config, engine, log);
  log.info(
    `ready: ${engine
      .names()
      .map((n) => `${n}@${engine.component(n).module?.version}`)
      .join(', ')}`,
  );
  await new Promise<void>((done) => {
    const stop = (sig: string): void => {
      log.info(`${sig}: stopping`);
      done();
    };
    process.once('SIGINT', () => stop('SIGINT'));
    process.once('SIGTERM', () => stop('SIGTERM'));
  });
  await fleet?.stop();
  await plane.stop();
  return 0;
}

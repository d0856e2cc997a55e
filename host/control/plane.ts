// Wires `hotswap start`: the data directory's repository and history, the engine, and the control API.
import type { EngineConfig } from '../config.js';
import { DeploymentFile } from '../engine/deployments.js';
import { Engine, type EngineOptions } from '../engine.js';
import { Logger } from '../log.js';
import { BundledModules } from '../repository/bundled.js';
import { type Db, openDatabase } from '../repository/database.js';
import { UpgradeHistory } from '../repository/history.js';
import { ModuleStore } from '../repository/store.js';
import { BearerAuth } from './auth.js';
import { EngineMetrics } from './metrics.js';
import { ControlServer } from './server.js';
import { loadPublicKey, SignatureCheck } from './signatures.js';

export interface ControlPlaneOptions extends Omit<EngineOptions, 'repository' | 'history'> {
  /** Where the bundled example modules come from (tests point this elsewhere). */
  bundled?: BundledModules;
}

/**
 * `hotswap start`: the data directory's repository and history, the engine loading from that
 * repository, and the control API over both. One place wires them, so the CLI and the tests run
 * exactly the same thing.
 */
export class ControlPlane {
  readonly engine: Engine;
  readonly store: ModuleStore;
  readonly history: UpgradeHistory;
  readonly metrics: EngineMetrics;
  readonly auth: BearerAuth;
  readonly server: ControlServer;
  readonly #db: Db;

  private constructor(parts: {
    db: Db;
    engine: Engine;
    store: ModuleStore;
    history: UpgradeHistory;
    metrics: EngineMetrics;
    auth: BearerAuth;
    server: ControlServer;
  }) {
    this.#db = parts.db;
    this.engine = parts.engine;
    this.store = parts.store;
    this.history = parts.history;
    this.metrics = parts.metrics;
    this.auth = parts.auth;
    this.server = parts.server;
  }

  static async start(config: EngineConfig, options: ControlPlaneOptions = {}): Promise<ControlPlane> {
    const log = options.logger ?? new Logger('engine', config.logLevel, undefined, config.logFormat);
    // Configuration mistakes (a bad key) fail before anything is opened or bound.
    const signatures = config.control.trustedKey ? new SignatureCheck(loadPublicKey(config.control.trustedKey)) : null;
    const db = openDatabase(config.dataDir);
    let engine: Engine | undefined;
    try {
      const store = new ModuleStore(db, config.dataDir);
      const history = new UpgradeHistory(db);
      const bundled = options.bundled ?? new BundledModules();
      const registered = await bundled.registerInto(store, log);
      if (registered.length > 0) log.info(`repository: registered bundled ${registered.join(', ')}`);
      const { bundled: _b, ...engineOptions } = options;
      // The engine records every swap, fault and refusal in the history itself.
      // The data directory is this process's: the engine keeps its journals there (docs/DURABILITY.md).
      engine = await Engine.start(config, {
        durable: true,
        ...engineOptions,
        logger: log,
        repository: store,
        history,
        deployments: new DeploymentFile(config.dataDir),
      });
      const metrics = new EngineMetrics(engine);
      const noteRunning = (component: string): void => {
        const m = engine!.component(component).module;
        if (m) store.noteChecked(m.name, m.version, m.abiVersion, m.layoutVersion);
      };
      engine.names().forEach(noteRunning);
      // Listeners run inside the component's dispatcher: a failing write (disk full) is logged,
      // never thrown into the dispatch loop.
      const guarded =
        <T>(what: string, fn: (x: T) => void) =>
        (x: T): void => {
          try {
            fn(x);
          } catch (e) {
            log.error(`could not record ${what}: ${(e as Error).message}`);
          }
        };
      engine.onSwap(
        guarded('a swap', (report) => {
          metrics.recordSwap(report);
          if (report.result === 'ok') noteRunning(report.component);
        }),
      );
      engine.onFault(guarded('a fault', (fault) => metrics.recordFault(fault)));
      engine.onRejected(guarded('a rejection', (r) => metrics.recordRejected(r.component, r.kind)));
      const auth = BearerAuth.resolve(config.control.token, config.dataDir);
      const server = await ControlServer.start(engine, {
        host: config.control.host,
        port: config.control.port,
        auth,
        store,
        history,
        metrics,
        signatures,
        logger: log.child('control'),
        ...(config.control.uploadLimitBytes !== undefined ? { uploadLimitBytes: config.control.uploadLimitBytes } : {}),
      });
      if (auth.tokenFile) log.info(`control token in ${auth.tokenFile}`);
      if (signatures) log.info('uploads must be signed by the trusted Ed25519 key');
      return new ControlPlane({ db, engine, store, history, metrics, auth, server });
    } catch (e) {
      await engine?.stop();
      db.close();
      throw e;
    }
  }

  async stop(): Promise<void> {
    await this.server.close();
    await this.engine.stop();
    this.#db.close();
  }
}

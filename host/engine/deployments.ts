/**
 * Components created and removed while the engine runs (POST and DELETE /v1/components): the
 * request checked against the component schema and the operator's allow-list, the start through
 * the engine's one way of starting a component, and the set kept in the data directory so that
 * a restart brings it back.
 */
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { CapabilitiesConfig } from '../capabilities/config.js';
import { type CheckedComponent, COMPONENT_SCHEMA } from '../config/schema.js';
import { type ComponentConfig, ConfigError, componentFromChecked, type DeployAllowList } from '../config.js';
import type { Logger } from '../log.js';
import { SchemaCheck } from '../schema.js';

/** Without a `deploy` section: settings only; `net` and `routes` need the operator's word. */
export const DEFAULT_DEPLOY_ALLOW: DeployAllowList = Object.freeze({ net: false, routes: false, settings: true });

/** The request does not describe a component (a field, an unknown capability): names each problem. */
export class InvalidComponent extends Error {
  constructor(readonly problems: string[]) {
    super(problems.join('; '));
    this.name = 'InvalidComponent';
  }
}

/** A capability the engine's `deploy.capabilities` does not allow for components created over the API. */
export class CapabilityNotAllowed extends Error {
  constructor(readonly problems: string[]) {
    super(problems.join('; '));
    this.name = 'CapabilityNotAllowed';
  }
}

export class ComponentExists extends Error {
  constructor(name: string) {
    super(`a component named "${name}" already exists`);
    this.name = 'ComponentExists';
  }
}

/** A listener's address cannot be bound (taken, or not ours); the component was not created and nothing of it stays open. */
export class PortInUse extends Error {
  constructor(
    name: string,
    readonly address: string,
    code: string,
  ) {
    const why = code === 'EADDRINUSE' ? 'is already in use' : `cannot be bound (${code})`;
    super(`${address} ${why}: component "${name}" was not created`);
    this.name = 'PortInUse';
  }
}

/** The errors of binding a listener that are about its address, not a bug. */
const BIND_ERRORS = new Set(['EADDRINUSE', 'EACCES', 'EADDRNOTAVAIL']);

/** What the data directory keeps: the components created over the API, and the configured ones removed. */
export interface DeploymentRecord {
  /** Each as the request gave it (checked), so a restart reads it through the same check. */
  deployed: Record<string, unknown>[];
  removed: string[];
}

/** `<dataDir>/components.json`, replaced whole by a rename, so a crash leaves the old or the new set. */
export class DeploymentFile {
  readonly path: string;

  constructor(dataDir: string) {
    this.path = join(dataDir, 'components.json');
  }

  read(): DeploymentRecord {
    if (!existsSync(this.path)) return { deployed: [], removed: [] };
    try {
      const raw = JSON.parse(readFileSync(this.path, 'utf8')) as Partial<DeploymentRecord>;
      return { deployed: raw.deployed ?? [], removed: raw.removed ?? [] };
    } catch (e) {
      throw new ConfigError(this.path, `cannot read the components created at runtime: ${(e as Error).message}`);
    }
  }

  write(record: DeploymentRecord): void {
    const next = `${this.path}.next`;
    writeFileSync(next, `${JSON.stringify(record, null, 2)}\n`);
    renameSync(next, this.path);
  }
}

/** What Deployments needs of the engine: its one way to start a component, and to stop one. */
export interface ComponentStarter {
  has(name: string): boolean;
  start(config: ComponentConfig): Promise<void>;
  stop(name: string): Promise<void>;
  /** Deletes a stopped component's kept state (its journal and checkpoints); true when there was some. */
  dropData(name: string): boolean;
}

/** A request that passed every check and can be started. */
export interface Admitted {
  config: ComponentConfig;
  spec: Record<string, unknown>;
}

const check = new SchemaCheck<CheckedComponent>(COMPONENT_SCHEMA);

export class Deployments {
  readonly #engine: ComponentStarter;
  readonly #allow: DeployAllowList;
  readonly #file: DeploymentFile | null;
  readonly #record: DeploymentRecord;
  readonly #log: Logger;

  /** `deploy`: the configuration's section (absent: DEFAULT_DEPLOY_ALLOW); `file`: where the set is kept (absent: nowhere). */
  constructor(
    engine: ComponentStarter,
    deploy: { capabilities: DeployAllowList } | undefined,
    file: DeploymentFile | undefined,
    log: Logger,
  ) {
    this.#engine = engine;
    this.#allow = deploy?.capabilities ?? DEFAULT_DEPLOY_ALLOW;
    this.#file = file ?? null;
    this.#record = file?.read() ?? { deployed: [], removed: [] };
    this.#log = log;
  }

  /** The components to start with: the configured ones not removed at runtime, then the ones created at runtime. */
  initial(configured: readonly ComponentConfig[]): ComponentConfig[] {
    const removed = new Set(this.#record.removed);
    const out = configured.filter((c) => !removed.has(c.name));
    const where = this.#file?.path ?? 'components created at runtime';
    for (const [i, spec] of this.#record.deployed.entries()) {
      let config: ComponentConfig;
      try {
        config = parse(structuredClone(spec), `deployed[${i}]`);
      } catch (e) {
        throw new ConfigError(where, (e as Error).message);
      }
      if (out.some((c) => c.name === config.name)) {
        this.#log.warn(`${where}: "${config.name}" is also in the configuration file; the file's wins`);
        continue;
      }
      out.push(config);
    }
    return out;
  }

  /** Checks a request: the schema (InvalidComponent), the allow-list (CapabilityNotAllowed), the name (ComponentExists). */
  admit(body: unknown): Admitted {
    if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new InvalidComponent(['body must be a JSON object']);
    const spec = structuredClone(body) as Record<string, unknown>;
    const config = parse(structuredClone(spec), 'body');
    const refused = refusedCapabilities(config.capabilities ?? {}, this.#allow);
    if (refused.length > 0) throw new CapabilityNotAllowed(refused);
    if (this.#engine.has(config.name)) throw new ComponentExists(config.name);
    return { config, spec };
  }

  /**
   * Starts an admitted component through the engine's own start (the one a configured component
   * goes through), then records it. A failure stops whatever it had opened: nothing stays bound.
   */
  async deploy({ config, spec }: Admitted): Promise<void> {
    if (this.#engine.has(config.name)) throw new ComponentExists(config.name);
    try {
      await this.#engine.start(config);
    } catch (e) {
      await this.#engine.stop(config.name);
      const cause = (e as Error).cause as NodeJS.ErrnoException | undefined;
      if (cause?.code && BIND_ERRORS.has(cause.code)) {
        // The sources' errors start with the address they were given (host/sources/).
        const at = config.listen.find((l) => (e as Error).message.startsWith(`${l.proto} ${l.host}:${l.port} `));
        throw new PortInUse(config.name, at ? `${at.proto} ${at.host}:${at.port}` : (e as Error).message, cause.code);
      }
      throw e;
    }
    this.#record.deployed = [...this.#record.deployed.filter((s) => s.name !== config.name), { ...spec, version: config.version }];
    this.#record.removed = this.#record.removed.filter((n) => n !== config.name);
    this.#save();
  }

  /**
   * Stops a component (its final TERM) and records that it is gone, configured or not. With
   * `dropData` its kept state goes too; without, a component deployed again under the name
   * recovers it (docs/API.md). Returns whether kept state was deleted.
   */
  async remove(name: string, dropData = false): Promise<boolean> {
    await this.#engine.stop(name);
    const wasDeployed = this.#record.deployed.some((s) => s.name === name);
    this.#record.deployed = this.#record.deployed.filter((s) => s.name !== name);
    if (!wasDeployed && !this.#record.removed.includes(name)) this.#record.removed.push(name);
    this.#save();
    return dropData && this.#engine.dropData(name);
  }

  /** The version a deployed component runs now (an upgrade moves it): a restart starts that one. */
  noteVersion(name: string, version: string): void {
    const spec = this.#record.deployed.find((s) => s.name === name);
    if (!spec || spec.version === version) return;
    spec.version = version;
    // Called from a swap's listener, inside the dispatcher: a failed write (disk full) is logged, never thrown there.
    try {
      this.#save();
    } catch (e) {
      this.#log.error(`could not record ${name}@${version} in ${this.#file?.path}: ${(e as Error).message}`);
    }
  }

  #save(): void {
    this.#file?.write(this.#record);
  }
}

function parse(spec: unknown, where: string): ComponentConfig {
  const checked = check.check(spec, where);
  if (!checked.ok) throw new InvalidComponent(checked.problems);
  return componentFromChecked(checked.value, where, (message) => {
    throw new InvalidComponent([message]);
  });
}

/** What `capabilities` asks for beyond the allow-list, one sentence per capability. */
export function refusedCapabilities(wanted: CapabilitiesConfig, allow: DeployAllowList): string[] {
  const out: string[] = [];
  const rule = 'deploy.capabilities in the engine configuration';
  if (wanted.routes && !allow.routes) out.push(`capabilities.routes is not allowed for components created over the API (${rule})`);
  if (wanted.settings && !allow.settings) out.push(`capabilities.settings is not allowed for components created over the API (${rule})`);
  if (wanted.net && allow.net !== true) {
    const allowed = allow.net === false ? [] : allow.net;
    const asked = wanted.net.interfaces;
    if (!asked) out.push(`capabilities.net on every interface is not allowed (${rule} allows ${allowed.join(', ') || 'none'})`);
    else {
      const outside = asked.filter((i) => !allowed.includes(i));
      if (outside.length > 0)
        out.push(`capabilities.net on ${outside.join(', ')} is not allowed (${rule} allows ${allowed.join(', ') || 'none'})`);
    }
  }
  return out;
}

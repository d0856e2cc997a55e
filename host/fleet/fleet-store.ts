/**
 * The fleet's state in JetStream, over one NATS connection: desired states (KV, compare-and-set),
 * node reports (KV) and module bytes (Object Store). Everything else in host/fleet/ reads and
 * writes the fleet through this class, so the buckets' names and codecs live in one place.
 */
import { createHash } from 'node:crypto';
import { jetstream } from '@nats-io/jetstream';
import { type KV, Kvm, type KvWatchEntry } from '@nats-io/kv';
import { type ObjectStore, Objm } from '@nats-io/obj';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import {
  DESIRED_BUCKET,
  type DesiredState,
  desiredCodec,
  MODULES_BUCKET,
  type NodeReport,
  objectName,
  REPORTS_BUCKET,
  reportCodec,
  reportKey,
} from './model.js';

/** How long a node waits before trying again to open the buckets (JetStream not reachable yet). */
const OPEN_RETRY_MS = 1000;

export interface Versioned<T> {
  value: T;
  revision: number;
  /** When the server stored this revision. */
  created: Date;
}

/** A compare-and-set lost: someone else wrote the key since we read it. */
export class ConcurrentChange extends Error {
  constructor(key: string, cause: string) {
    super(`${DESIRED_BUCKET} ${key}: changed by someone else since it was read (${cause})`);
    this.name = 'ConcurrentChange';
  }
}

export interface ConnectOptions {
  /** nats://host:port URLs (or host:port). */
  servers: string[];
  /** The connection's name on the server (node name, or the controller). */
  name: string;
  /** Keep trying the first connection instead of failing (an engine must start without NATS). */
  waitOnFirstConnect?: boolean;
  /**
   * The JetStream domain that holds the fleet's buckets. A leaf server without JetStream of its
   * own reaches its hub's JetStream only under the hub's domain (`$JS.<domain>.API`).
   */
  domain?: string;
}

export class FleetStore {
  readonly connection: NatsConnection;
  readonly #desired: KV;
  readonly #reports: KV;
  readonly #modules: ObjectStore;
  readonly #desiredCodec = desiredCodec();
  readonly #reportCodec = reportCodec();

  private constructor(connection: NatsConnection, desired: KV, reports: KV, modules: ObjectStore) {
    this.connection = connection;
    this.#desired = desired;
    this.#reports = reports;
    this.#modules = modules;
  }

  /** Connects and opens (creating when missing) the buckets; reconnects forever afterwards. */
  static async connect(options: ConnectOptions): Promise<FleetStore> {
    const connection = await connect({
      servers: options.servers,
      name: options.name,
      maxReconnectAttempts: -1,
      reconnectTimeWait: 250,
      waitOnFirstConnect: options.waitOnFirstConnect ?? false,
    });
    for (;;) {
      try {
        return await FleetStore.open(connection, options.domain);
      } catch (e) {
        // A node waits for JetStream (a leaf whose hub is down has none); a controller fails at once.
        if (!options.waitOnFirstConnect || connection.isClosed()) {
          await connection.close();
          throw new Error(`cannot open the fleet's buckets through ${options.servers.join(',')}: ${(e as Error).message}`);
        }
        await new Promise((resolve) => setTimeout(resolve, OPEN_RETRY_MS));
      }
    }
  }

  /** Opens the buckets on a connection (creating is idempotent: the same config opens them). */
  static async open(connection: NatsConnection, domain?: string): Promise<FleetStore> {
    const js = jetstream(connection, domain ? { domain } : {});
    const kvm = new Kvm(js);
    const desired = await kvm.create(DESIRED_BUCKET, { history: 10 });
    const reports = await kvm.create(REPORTS_BUCKET, { history: 5 });
    const modules = await new Objm(js).create(MODULES_BUCKET);
    return new FleetStore(connection, desired, reports, modules);
  }

  async readDesired(component: string): Promise<Versioned<DesiredState> | null> {
    const entry = await this.#desired.get(component);
    if (entry?.operation !== 'PUT') return null;
    return { value: this.#desiredCodec.decode(component, entry.value), revision: entry.revision, created: entry.created };
  }

  /** Compare-and-set: `revision` null creates the key, else it must still be at `revision`. */
  async writeDesired(value: DesiredState, revision: number | null): Promise<number> {
    const bytes = this.#desiredCodec.encode(value);
    try {
      return revision === null
        ? await this.#desired.create(value.component, bytes)
        : await this.#desired.update(value.component, bytes, revision);
    } catch (e) {
      const message = (e as Error).message;
      if (/wrong last sequence|key exists/i.test(message)) throw new ConcurrentChange(value.component, message);
      throw e;
    }
  }

  /** Every change of any desired state, starting with the current values. */
  async watchDesired(onChange: (state: DesiredState) => void, onError: (e: Error) => void): Promise<() => void> {
    const iterator = await this.#desired.watch();
    void (async () => {
      for await (const entry of iterator as AsyncIterable<KvWatchEntry>) {
        if (entry.operation !== 'PUT') continue;
        try {
          onChange(this.#desiredCodec.decode(entry.key, entry.value));
        } catch (e) {
          onError(e as Error);
        }
      }
    })().catch(onError);
    return () => iterator.stop();
  }

  async putReport(report: NodeReport): Promise<void> {
    await this.#reports.put(reportKey(report.component, report.node), this.#reportCodec.encode(report));
  }

  /** Every node's report for a component, with its revision (which changes at each heartbeat). */
  async reports(component: string): Promise<Versioned<NodeReport>[]> {
    const keys: string[] = [];
    for await (const key of await this.#reports.keys(`${component}.>`)) keys.push(key);
    const out: Versioned<NodeReport>[] = [];
    for (const key of keys.sort()) {
      const entry = await this.#reports.get(key);
      if (entry?.operation === 'PUT')
        out.push({ value: this.#reportCodec.decode(key, entry.value), revision: entry.revision, created: entry.created });
    }
    return out;
  }

  /**
   * Stores module bytes under `<component>/<version>`, with their signature (base64) in the
   * object's metadata when there is one; returns the object's name and sha256.
   */
  async putModule(component: string, version: string, bytes: Uint8Array, signature?: string): Promise<{ object: string; sha256: string }> {
    const object = objectName(component, version);
    await this.#modules.putBlob({ name: object, ...(signature ? { metadata: { signature } } : {}) }, bytes);
    return { object, sha256: sha256Hex(bytes) };
  }

  /** Whether the object exists, and the signature stored with it. */
  async moduleInfo(object: string): Promise<{ signature?: string } | null> {
    const info = await this.#modules.info(object);
    if (!info) return null;
    const signature = info.metadata?.signature;
    return signature ? { signature } : {};
  }

  /** The bytes of an object (unchecked here: the caller compares them with the desired sha256). */
  async getModule(object: string): Promise<Uint8Array> {
    const bytes = await this.#modules.getBlob(object);
    if (!bytes) throw new Error(`${MODULES_BUCKET}: no object named "${object}"`);
    return bytes;
  }

  async close(): Promise<void> {
    await this.connection.close();
  }
}

export const sha256Hex = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex');

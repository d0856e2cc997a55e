/**
 * The engine of one quota-corpus test file: a real engine process with `npm start`'s defaults
 * (ports on 0) running kv 1.0.0 as `kv`, plus a UDP client to it, started before the file's
 * tests and stopped after them. One attack per file, so that no attack's leftovers meet another.
 */
import type { Test } from 'uvu';
import { UdpLines } from './attack-watch.js';
import { type ComponentSpec, type RunningEngine, startEngine } from './engine-process.js';

export interface KvEngine {
  readonly engine: RunningEngine;
  readonly client: UdpLines;
}

/** Registers the engine's start and stop on `test`; the fields are set once the tests run. */
export function useKvEngine(test: Test, kv: Partial<ComponentSpec> = {}, others: ComponentSpec[] = []): KvEngine {
  const holder: { engine?: RunningEngine; client?: UdpLines } = {};
  test.before(async () => {
    holder.engine = await startEngine([{ name: 'kv', version: '1.0.0', tcp: false, ...kv }, ...others]);
    holder.client = new UdpLines(holder.engine.ports.get('kv')!.udp!);
  });
  test.after(async () => {
    holder.client?.close();
    await holder.engine?.stop();
  });
  return {
    get engine(): RunningEngine {
      return holder.engine!;
    },
    get client(): UdpLines {
      return holder.client!;
    },
  };
}

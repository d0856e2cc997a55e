// The engine's Prometheus metrics (prom-client), read from the components when scraped.
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import type { FaultRecord } from '../component/component.js';
import type { SwapReport } from '../component/swap.js';
import type { Engine } from '../engine.js';

/**
 * The engine's Prometheus metrics. Live numbers (events, queue depth, state) are read from the
 * components when scraped, so they cost nothing per event; swaps and faults are counted as they
 * happen, from the engine's onSwap/onFault.
 */
export class EngineMetrics {
  readonly registry = new Registry();
  readonly #upgrades: Counter<'component' | 'reason' | 'result'>;
  readonly #pauses: Histogram<'component'>;
  readonly #faults: Counter<'component' | 'kind'>;
  readonly #fuelTraps: Counter<'component'>;

  constructor(engine: Engine) {
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry });
    new Counter({
      name: 'hotswap_events_total',
      help: "Events dispatched to a component's module, by component and event type",
      labelNames: ['component', 'type'],
      registers,
      collect() {
        this.reset();
        for (const s of engine.status()) {
          for (const [type, n] of Object.entries(s.handled)) this.inc({ component: s.name, type }, n);
        }
      },
    });
    new Gauge({
      name: 'hotswap_queue_depth',
      help: "Events waiting in a component's FIFO queue",
      labelNames: ['component'],
      registers,
      collect() {
        this.reset();
        for (const s of engine.status()) this.set({ component: s.name }, s.queueDepth);
      },
    });
    new Counter({
      name: 'hotswap_events_dropped_total',
      help: "Events refused because a component's queue was full (UDP datagrams, bus messages, signals; docs/SAFETY.md)",
      labelNames: ['component'],
      registers,
      collect() {
        this.reset();
        for (const s of engine.status()) this.inc({ component: s.name }, s.dropped);
      },
    });
    new Counter({
      name: 'hotswap_quota_hits_total',
      help: 'Import calls refused, cut or clamped because a component was over a quota, by resource (docs/SAFETY.md)',
      labelNames: ['component', 'resource'],
      registers,
      collect() {
        this.reset();
        for (const s of engine.status()) {
          for (const [resource, n] of Object.entries(s.quotaHits)) this.inc({ component: s.name, resource }, n);
        }
      },
    });
    new Gauge({
      name: 'hotswap_component_info',
      help: 'The module version a component runs and its state (value is always 1)',
      labelNames: ['component', 'module', 'version', 'state'],
      registers,
      collect() {
        this.reset();
        for (const s of engine.status()) {
          this.set({ component: s.name, module: s.module ?? '', version: s.version ?? '', state: s.state }, 1);
        }
      },
    });
    this.#upgrades = new Counter({
      name: 'hotswap_upgrades_total',
      help: 'Upgrades and rollbacks by result: ok, rolled_back, failed, or rejected before the swap',
      labelNames: ['component', 'reason', 'result'],
      registers,
    });
    this.#pauses = new Histogram({
      name: 'hotswap_swap_pause_seconds',
      help: 'How long a component stopped dispatching during a swap',
      labelNames: ['component'],
      buckets: [1e-5, 2.5e-5, 5e-5, 1e-4, 2.5e-4, 5e-4, 1e-3, 2.5e-3, 5e-3, 1e-2, 2.5e-2, 5e-2, 0.1, 0.25, 1],
      registers,
    });
    this.#faults = new Counter({
      name: 'hotswap_faults_total',
      help: 'Traps while a module handled an event, by why it trapped (the module was re-instantiated)',
      labelNames: ['component', 'kind'],
      registers,
    });
    this.#fuelTraps = new Counter({
      name: 'hotswap_fuel_traps_total',
      help: 'Traps because a module ran out of fuel while handling an event',
      labelNames: ['component'],
      registers,
    });
    // Known components show up with zeros before their first swap or fault.
    for (const name of engine.names()) this.#fuelTraps.inc({ component: name }, 0);
  }

  recordSwap(report: SwapReport): void {
    this.#upgrades.inc({ component: report.component, reason: report.reason, result: report.result });
    this.#pauses.observe({ component: report.component }, report.pauseUs / 1e6);
  }

  recordRejected(component: string, reason: SwapReport['reason']): void {
    this.#upgrades.inc({ component, reason, result: 'rejected' });
  }

  recordFault(fault: FaultRecord): void {
    this.#faults.inc({ component: fault.component, kind: fault.kind });
    if (fault.kind === 'fuel') this.#fuelTraps.inc({ component: fault.component });
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  text(): Promise<string> {
    return this.registry.metrics();
  }
}

/** The `routes` capability: kernel routes installed and withdrawn through one long-lived `ip -batch` process. */
import { type ChildProcessWithoutNullStreams, execFileSync, spawn } from 'node:child_process';
import { HostResult } from '../abi/abi.js';
import type { Logger } from '../log.js';
import type { RoutesCapabilityConfig } from './config.js';
import { u32ToIp } from './interfaces.js';

/** How long close() waits for `ip` to finish the withdrawals before killing it. */
const CLOSE_TIMEOUT_MS = 3000;
/** Commands remembered so an error reported by `ip` ("Command failed -:N") can be named. */
const HISTORY = 256;

interface InstalledRoute {
  prefix: string;
  nextHop: string;
  dev: string;
}

interface IpRouteJson {
  dst?: string;
  gateway?: string;
  dev?: string;
  metric?: number;
}

/** `ip -j route show`: each route's prefix as `install` names it ("a.b.c.d/len"), next hop, device and metric. */
export function parseRoutes(json: string): { prefix: string; gateway: string | undefined; dev: string | undefined; metric: number }[] {
  return (JSON.parse(json) as IpRouteJson[]).flatMap((r) => {
    if (!r.dst) return [];
    const prefix = r.dst === 'default' ? '0.0.0.0/0' : r.dst.includes('/') ? r.dst : `${r.dst}/32`;
    return [{ prefix, gateway: r.gateway, dev: r.dev, metric: r.metric ?? 0 }];
  });
}

/**
 * Installs and withdraws kernel routes through ONE long-lived `ip -force -batch -` child process
 * (docs/MEASUREMENTS.md: 200 routes in 7 ms, against 685 ms when spawning `ip` per route). Commands are
 * written to its stdin without waiting, so a module never blocks on the kernel; `ip` reports a
 * failed line on stderr with its number, which is logged with the command it belonged to.
 *
 * The process belongs to the host: the routes stay installed across swaps. close() withdraws
 * every route still installed (a clean shutdown must not leave stale forwarding state behind).
 */
export class KernelRoutes {
  readonly #config: RoutesCapabilityConfig;
  readonly #log: Logger;
  readonly #installed = new Map<string, InstalledRoute>();
  readonly #history = new Map<number, string>();
  #ip!: ChildProcessWithoutNullStreams;
  #exited!: Promise<void>;
  #line = 0;
  #alive = false;
  #stderr = '';

  private constructor(config: RoutesCapabilityConfig, log: Logger) {
    this.#config = config;
    this.#log = log;
    this.#adopt();
    this.#spawn();
  }

  /**
   * Takes over the routes of our protocol and metric already in the kernel: those an engine
   * killed before its clean stop left behind. After a crash recovery the module's table still
   * holds them and never installs them again (they did not change), so without this a route
   * that later times out would never be withdrawn, nor would a clean stop remove them
   * (docs/RIP.md, "Crash survival"). They keep forwarding meanwhile: nothing is deleted here.
   */
  #adopt(): void {
    let text: string;
    try {
      text = execFileSync('ip', ['-j', 'route', 'show', 'proto', this.#config.protocol], { encoding: 'utf8', timeout: 5000 });
    } catch (e) {
      this.#log.warn(`routes: reading the kernel's ${this.#config.protocol} routes: ${(e as Error).message}`);
      return;
    }
    for (const r of parseRoutes(text)) {
      if (r.metric === this.#config.metric && r.gateway && r.dev)
        this.#installed.set(r.prefix, { prefix: r.prefix, nextHop: r.gateway, dev: r.dev });
    }
    if (this.#installed.size > 0)
      this.#log.info(`routes: ${this.#installed.size} ${this.#config.protocol} routes already in the kernel, taken over`);
  }

  static start(config: RoutesCapabilityConfig, log: Logger): KernelRoutes {
    return new KernelRoutes(config, log);
  }

  /**
   * Starts `ip` in its own process group (detached): a SIGTERM or Ctrl-C sent to the engine's
   * group must not kill it before the engine has withdrawn its routes. It still ends with the
   * engine, whatever way that goes: it exits at the end of its stdin, which closes with us.
   */
  #spawn(): void {
    const ip = spawn('ip', ['-force', '-batch', '-'], { stdio: ['pipe', 'pipe', 'pipe'], detached: true });
    this.#ip = ip;
    this.#alive = true;
    this.#line = 0;
    this.#history.clear();
    this.#exited = new Promise((resolve) => ip.once('close', () => resolve()));
    ip.once('error', (e) => {
      this.#alive = false;
      this.#log.error(`routes: ip -batch: ${e.message}`);
    });
    ip.once('exit', (code, signal) => {
      this.#alive = false;
      if (code !== 0) this.#log.warn(`routes: ip -batch exited with ${code ?? signal}`);
    });
    ip.stdin.on('error', (e) => this.#log.warn(`routes: writing to ip -batch: ${e.message}`));
    ip.stdout.resume();
    ip.stderr.on('data', (chunk: Buffer) => this.#onStderr(chunk.toString('utf8')));
  }

  /** Installs or replaces the route to prefix/len via nextHop on dev. */
  install(prefix: number, len: number, nextHop: number, dev: string): number {
    const p = `${u32ToIp(prefix)}/${len}`;
    const route = { prefix: p, nextHop: u32ToIp(nextHop), dev };
    const had = this.#installed.get(p);
    if (had && had.nextHop === route.nextHop && had.dev === dev) return HostResult.ok;
    if (!this.#write(`route replace ${p} via ${route.nextHop} dev ${dev} proto ${this.#config.protocol} metric ${this.#config.metric}`)) {
      return HostResult.denied;
    }
    this.#installed.set(p, route);
    return HostResult.ok;
  }

  /** Withdraws a route this capability installed; unknown routes are left alone. */
  withdraw(prefix: number, len: number): number {
    const p = `${u32ToIp(prefix)}/${len}`;
    if (!this.#installed.has(p)) return HostResult.unknownPeer;
    this.#installed.delete(p);
    return this.#write(this.#deleteCommand(p)) ? HostResult.ok : HostResult.denied;
  }

  get size(): number {
    return this.#installed.size;
  }

  #deleteCommand(prefix: string): string {
    return `route del ${prefix} proto ${this.#config.protocol} metric ${this.#config.metric}`;
  }

  #write(command: string): boolean {
    if (!this.#alive || !this.#ip.stdin.writable) {
      // Someone killed it: a new one carries on, so no install or withdrawal is lost.
      this.#log.warn('routes: ip -batch is gone; starting a new one');
      this.#spawn();
    }
    this.#line++;
    this.#history.set(this.#line, command);
    this.#history.delete(this.#line - HISTORY);
    this.#ip.stdin.write(`${command}\n`);
    return true;
  }

  #onStderr(text: string): void {
    this.#stderr += text;
    const lines = this.#stderr.split('\n');
    this.#stderr = lines.pop() ?? '';
    let detail: string[] = [];
    for (const line of lines) {
      const failed = /Command failed -:(\d+)/.exec(line);
      if (failed) {
        const n = Number(failed[1]);
        const command = this.#history.get(n) ?? `line ${n}`;
        const why = detail.join('; ') || 'no reason given';
        // The kernel drops the routes through a link that goes down before our withdrawal arrives.
        const gone = command.startsWith('route del') && why.includes('No such process');
        (gone ? this.#log.debug : this.#log.warn).call(this.#log, `routes: "${command}" failed: ${why}`);
        detail = [];
      } else if (line.trim()) {
        detail.push(line.trim());
      }
    }
    if (detail.length > 0) this.#log.warn(`routes: ip: ${detail.join('; ')}`);
  }

  /** Withdraws every route still installed, then ends the `ip` process (bounded). */
  async close(): Promise<void> {
    for (const p of this.#installed.keys()) this.#write(this.#deleteCommand(p));
    if (this.#installed.size > 0) this.#log.info(`routes: withdrew ${this.#installed.size} kernel routes`);
    this.#installed.clear();
    this.#ip.stdin.end();
    const timer = setTimeout(() => this.#ip.kill('SIGKILL'), CLOSE_TIMEOUT_MS);
    await this.#exited;
    clearTimeout(timer);
  }
}

/** Follows link and address changes of the engine's namespace: `ip -o monitor link address` as a long-lived child, plus a slow poll. */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import type { Logger } from '../log.js';
import { type LinkState, parseIpAddr } from './interfaces.js';

/**
 * How often the links are re-read even when `ip monitor` said nothing: the bound on how late a
 * change is noticed if the monitor missed it or died (it is restarted, but a change can fall into
 * the gap). The monitor itself reports within milliseconds.
 */
export const LINK_POLL_MS = 2000;
/** A burst of monitor lines (one `ip link set up` prints several) is read as one change. */
const SETTLE_MS = 20;
/** A monitor that dies is restarted after this long (not in a tight loop). */
const RESTART_MS = 1000;

/**
 * Watches the namespace's links and hands every fresh reading of `ip -j addr show` to
 * `onLinks`, one at a time and in order. `ip monitor` is not detached: it belongs to the engine's
 * process group and dies with it; stop() ends it.
 */
export class LinkWatcher {
  readonly #onLinks: (links: LinkState[]) => Promise<void>;
  readonly #log: Logger;
  #monitor: ChildProcess | null = null;
  #poll: NodeJS.Timeout | null = null;
  #settle: NodeJS.Timeout | null = null;
  #restart: NodeJS.Timeout | null = null;
  #reading = false;
  #again = false;
  #stopped = false;

  constructor(onLinks: (links: LinkState[]) => Promise<void>, log: Logger) {
    this.#onLinks = onLinks;
    this.#log = log;
  }

  start(): void {
    this.#spawn();
    this.#poll = setInterval(() => this.#read(), LINK_POLL_MS);
    this.#poll.unref();
  }

  #spawn(): void {
    if (this.#stopped) return;
    const monitor = spawn('ip', ['-o', 'monitor', 'link', 'address'], { stdio: ['ignore', 'pipe', 'pipe'] });
    this.#monitor = monitor;
    monitor.stdout?.on('data', () => this.#changed());
    monitor.stderr?.on('data', (chunk: Buffer) => this.#log.warn(`net: ip monitor: ${chunk.toString('utf8').trim()}`));
    monitor.once('error', (e) => this.#log.warn(`net: ip monitor: ${e.message} (links are polled every ${LINK_POLL_MS} ms)`));
    monitor.once('exit', (code, signal) => {
      if (this.#stopped) return;
      this.#log.warn(`net: ip monitor exited with ${code ?? signal}; restarting it`);
      this.#restart = setTimeout(() => this.#spawn(), RESTART_MS);
      this.#read(); // whatever happened meanwhile
    });
  }

  #changed(): void {
    if (this.#settle) return;
    this.#settle = setTimeout(() => {
      this.#settle = null;
      this.#read();
    }, SETTLE_MS);
  }

  /** One reading at a time; a change during a reading asks for one more. */
  #read(): void {
    if (this.#stopped) return;
    if (this.#reading) {
      this.#again = true;
      return;
    }
    this.#reading = true;
    execFile('ip', ['-j', 'addr', 'show'], { timeout: 5000 }, (err, stdout) => {
      const done = (): void => {
        this.#reading = false;
        if (this.#again) {
          this.#again = false;
          this.#read();
        }
      };
      if (err || this.#stopped) {
        if (err) this.#log.warn(`net: ip -j addr show: ${err.message}`);
        done();
        return;
      }
      let links: LinkState[];
      try {
        links = parseIpAddr(stdout);
      } catch (e) {
        this.#log.warn(`net: ip -j addr show printed what is not JSON: ${(e as Error).message}`);
        done();
        return;
      }
      this.#onLinks(links).then(done, (e: unknown) => {
        this.#log.error(`net: applying a link change failed: ${(e as Error).message}`);
        done();
      });
    });
  }

  stop(): void {
    this.#stopped = true;
    for (const t of [this.#poll, this.#settle, this.#restart]) if (t) clearTimeout(t);
    this.#monitor?.kill();
    this.#monitor = null;
  }
}

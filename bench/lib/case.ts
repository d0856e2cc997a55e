/**
 * Every benchmark case runs in its own Node process (a clean heap, its own RSS, no JIT or GC
 * state left over by another case) and prints one JSON object as its last stdout line, like the
 * peers in bench/peers/. `bench/run.ts` starts them and collects those lines.
 */
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface CaseOptions {
  quick: boolean;
}

/** Runs `body` when the file is executed directly (not when imported) and prints its result. */
export function runCase(moduleUrl: string, body: (o: CaseOptions) => Promise<unknown>): void {
  if (!process.argv[1] || resolve(process.argv[1]) !== fileURLToPath(moduleUrl)) return;
  const o: CaseOptions = { quick: process.argv.includes('--quick') };
  body(o)
    .then((result) => {
      process.stdout.write(`${JSON.stringify(result)}\n`);
      process.exit(0);
    })
    .catch((e: unknown) => {
      process.stderr.write(`${(e as Error).stack ?? String(e)}\n`);
      process.exit(1);
    });
}

/** Progress on stderr, so stdout keeps only the result line (and the engine's warnings). */
export function progress(scope: string, text: string): void {
  process.stderr.write(`[${scope}] ${text}\n`);
}

/** Runs the garbage collector when the process was started with --expose-gc. */
export function collectGarbage(): void {
  (globalThis as { gc?: () => void }).gc?.();
}

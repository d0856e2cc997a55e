/**
 * Skipping a test whose system requirements are missing, visibly: uvu counts it as skipped, and
 * the reason goes to the output as `# skip: <test>: <reason>`, which scripts/run-tests.ts lists
 * in its summary. A skipped test never passes by asserting nothing.
 */
import type { Test } from 'uvu';

export function skipBecause(test: Test, name: string, reason: string): void {
  console.log(`# skip: ${name}: ${reason}`);
  test.skip(name, () => {});
}

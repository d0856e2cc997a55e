#!/usr/bin/env node
// The `hotswap` command: runs the compiled host (npm install / npm run build produce build/host).
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const entry = new URL('../build/host/cli/main.js', import.meta.url);
if (!existsSync(fileURLToPath(entry))) {
  process.stderr.write('hotswap: build/host is missing; run `npm run build` (npm install does it)\n');
  process.exit(1);
}
await import(entry.href);

// Module-loader hooks for test and bench processes: binaryen's 14 MB index.js is loaded as plain
// JavaScript, past tsx's hooks. Through tsx it took 10-13 s of CPU per process (measured: a
// source map built for the whole file, then compiled with it) against 0.8 s plain, and every test
// file that inspects or checks a module paid that. Registered after tsx, so this load hook runs
// first and answers for binaryen alone; everything else goes on to tsx.
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';

export async function load(url, context, next) {
  if (url.includes('/node_modules/binaryen/') && url.endsWith('.js')) {
    return { format: 'module', source: await readFile(fileURLToPath(url)), shortCircuit: true };
  }
  return next(url, context);
}

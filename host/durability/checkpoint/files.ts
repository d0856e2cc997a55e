// Where a component's checkpoint files live and what their names mean: one file per generation,
// `<generation>.ckpt` once committed, `<generation>.ckpt.partial` while it is being written.
import { readdirSync } from 'node:fs';
import { join } from 'node:path';

const COMMITTED = /^(\d{10})\.ckpt$/;
const PARTIAL = /^(\d{10})\.ckpt\.partial$/;

/** `<durableDir>/<component>/checkpoint`: the journal sits beside it in `<component>/journal`. */
export function checkpointDir(durableDir: string, component: string): string {
  if (!component || component === '.' || component === '..' || /[/\\\0]/.test(component)) {
    throw new RangeError(`checkpoint: component name "${component}" cannot be a directory name`);
  }
  return join(durableDir, component, 'checkpoint');
}

export function fileName(generation: number, partial: boolean): string {
  return `${String(generation).padStart(10, '0')}.ckpt${partial ? '.partial' : ''}`;
}

export interface CheckpointFile {
  generation: number;
  path: string;
  /** Never committed: the writer was stopped (or crashed) before its rename. */
  partial: boolean;
}

/** The checkpoint files of a directory, newest generation first; none when it does not exist. */
export function listCheckpointFiles(dir: string): CheckpointFile[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch (e) {
    // No directory (or a file where one would be): no checkpoint; writing one will say why.
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return [];
    throw e;
  }
  const files: CheckpointFile[] = [];
  for (const name of names) {
    const committed = COMMITTED.exec(name);
    const partial = committed ? null : PARTIAL.exec(name);
    const match = committed ?? partial;
    if (match) files.push({ generation: Number(match[1]), path: join(dir, name), partial: partial !== null });
  }
  return files.sort((a, b) => b.generation - a.generation || Number(a.partial) - Number(b.partial));
}

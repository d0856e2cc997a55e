/**
 * A digest of a component's persistent data, for tests that prove a failed swap put the bytes
 * back exactly. The data is the header page and the arena up to the high-water mark; the inbox
 * and the dirty-page map are the host's bookkeeping (docs/ABI.md) and are left out.
 */
import { createHash } from 'node:crypto';
import { ARENA_OFFSET } from '../../host/abi/abi.js';
import type { PersistentMemory } from '../../host/abi/memory.js';

export function persistentDigest(memory: PersistentMemory): string {
  const bytes = new Uint8Array(memory.memory.buffer);
  return createHash('sha256')
    .update(bytes.subarray(0, 4096))
    .update(bytes.subarray(ARENA_OFFSET, memory.persistentBytesInUse()))
    .digest('hex');
}

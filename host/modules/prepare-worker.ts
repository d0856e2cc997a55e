/**
 * The module preparer's worker thread (host/modules/preparer.ts): runs checkAndInstrument, all of
 * the binaryen work of preparing a module, away from the engine's event loop. One request at a
 * time comes in; the rewritten bytes go back transferred, not copied.
 */
import { parentPort } from 'node:worker_threads';
import { checkAndInstrument } from './checked-bytes.js';
import { ModuleRejected } from './errors.js';
import { ownBuffer, type PrepareFailure, type PrepareReply, type PrepareRequest } from './preparer.js';

const port = parentPort;
if (!port) throw new Error('prepare-worker runs as a worker thread started by ModulePreparer');

/** A rejection keeps its fields (the control API reports them); anything else its name and message. */
const describe = (e: unknown): PrepareFailure =>
  e instanceof ModuleRejected
    ? { kind: 'rejected', module: e.module, version: e.version, problems: [...e.problems] }
    : { kind: 'error', name: (e as Error)?.name ?? 'Error', message: (e as Error)?.message ?? String(e), stack: (e as Error)?.stack ?? '' };

port.on('message', (request: PrepareRequest) => {
  void checkAndInstrument(request.bytes, request.claimed, request.policy).then(
    ({ runnable, info }) => {
      const bytes = ownBuffer(runnable);
      const reply: PrepareReply = { id: request.id, ok: true, runnable: bytes, info };
      port.postMessage(reply, [bytes.buffer]);
    },
    (e: unknown) => {
      const reply: PrepareReply = { id: request.id, ok: false, failure: describe(e) };
      port.postMessage(reply);
    },
  );
});

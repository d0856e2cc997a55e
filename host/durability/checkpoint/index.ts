// The checkpoint library's public face: re-exports only (docs/CHECKPOINTS.md).
export { type CheckpointFile, checkpointDir, listCheckpointFiles } from './files.js';
export { CheckpointCorruptError, type CheckpointKind } from './format.js';
export { type LoadedCheckpoint, loadCheckpoint, openCheckpoint } from './loader.js';
export type { CheckpointMeta, CheckpointResult, CheckpointWriterOptions } from './types.js';
export { CheckpointWriter, presyncTurn } from './writer.js';

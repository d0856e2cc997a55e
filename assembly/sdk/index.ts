// The AssemblyScript SDK for hot-swappable modules. See docs/ABI.md and docs/SDK.md.
export { App, register, root } from "./app";
export { Message, log, reply, replyBytes, sendTo, sendToComponent, timers, clock, randomU32, output, dataRoot } from "./host";
export { palloc, pfree, pallocZeroed, pallocHighWater } from "./palloc";
export { PMap, pmapFind, pmapSet, pmapValuePtr, pmapValueLen } from "./pmap";
export { hashBytes, WordHash, bytesEqual, copyBytes } from "./fast-bytes";
export * from "./bytes";

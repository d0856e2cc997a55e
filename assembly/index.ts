// The SDK's package entry, by the AssemblyScript convention (`ascMain`): a module project imports
// `wasm-hotswap/assembly` for the SDK, and re-exports `wasm-hotswap/assembly/exports` from its
// entry file for the ABI's callbacks (docs/SDK.md).
export * from "./sdk/index";
// The ABI this SDK targets: the engine refuses a module whose abi_version differs.
export { ABI_VERSION } from "./sdk/generated/abi";

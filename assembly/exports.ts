// The ABI's exports (init, on_message, …) for a module's entry file:
// `export * from "wasm-hotswap/assembly/exports";` (docs/SDK.md).
export * from "./sdk/exports";

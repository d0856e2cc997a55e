// kv 2.0.0: same data layout as 1.0.0, adds DEL.
export * from "../../sdk/exports";
import { register } from "../../sdk";
import { KvApp } from "./kv";
register(new KvApp("2.0.0", true));

// kv 3.0.0: data layout 2 (per-key revision and update time), adds META; migrates from and to layout 1.
export * from "../../sdk/exports";
import { register } from "../../sdk";
import { KvApp3 } from "./kv3";
register(new KvApp3("3.0.0"));

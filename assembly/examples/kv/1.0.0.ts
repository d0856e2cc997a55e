// kv 1.0.0: SET, GET, COUNT, VERSION.
export * from "../../sdk/exports";
import { register } from "../../sdk";
import { KvApp } from "./kv";
register(new KvApp("1.0.0", false));

// rip 0.0.2: same data layout as 0.0.1; adds the incoming route filter (setting `filterIn`).
export * from "../../sdk/exports";
import { register } from "../../sdk";
import { RipRouter, Features } from "./router";
register(new RipRouter(new Features("0.0.2", 1, true)));

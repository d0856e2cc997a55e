// rip 0.0.3: route records gain the time the route was learned and a change counter
// (layout 2); migrate converts 0.0.2's records up, migrate_down converts them back.
export * from "../../sdk/exports";
import { register } from "../../sdk";
import { RipRouter, Features } from "./router";
register(new RipRouter(new Features("0.0.3", 2, true)));

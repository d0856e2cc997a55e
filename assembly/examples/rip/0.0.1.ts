// rip 0.0.1: the baseline RIPv2 router (route record layout 1).
export * from "../../sdk/exports";
import { register } from "../../sdk";
import { RipRouter, Features } from "./router";
register(new RipRouter(new Features("0.0.1", 1, false)));

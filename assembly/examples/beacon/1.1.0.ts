// beacon 1.1.0: same layout; only the version differs (a swap target for the timer/signal tests).
export * from "../../sdk/exports";
import { register } from "../../sdk";
import { BeaconApp } from "./beacon";
register(new BeaconApp("1.1.0"));

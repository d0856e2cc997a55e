// beacon 1.0.0
export * from "../../sdk/exports";
import { register } from "../../sdk";
import { BeaconApp } from "./beacon";
register(new BeaconApp("1.0.0"));

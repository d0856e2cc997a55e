// wasi-echo 1.1.0 (see echo.ts).
export * from "../../sdk/exports";
import { register } from "../../sdk";
import { EchoApp } from "./echo";
register(new EchoApp("1.1.0"));

import { Context } from "effect"

/** The local environment, read once at the edge, for forwarding allowlisted variables. */
export class LocalEnv extends Context.Tag("crabbox/LocalEnv")<LocalEnv, Readonly<Record<string, string | undefined>>>() {}

import { Command, Options } from "@effect/cli"
import { Effect, Option } from "effect"
import { warmupWorkflow } from "../../workflows/warmup.js"
import { delegatedWarmupWorkflow } from "../../workflows/delegatedWarmup.js"
import { flagRecord, leaseOptions, providerOptions } from "../options.js"
import { providerContext } from "../providerContext.js"

export const warmupCommand = Command.make("warmup", {
  ...providerOptions,
  ...leaseOptions,
  keep: Options.boolean("keep").pipe(Options.withDescription("exempt the lease from cleanup's TTL and idle expiry")),
  noKeep: Options.boolean("no-keep").pipe(Options.withDescription("release the lease once it is ready (a readiness check)")),
  timingJson: Options.boolean("timing-json").pipe(Options.withDescription("write a timing JSON object to stderr"))
}, (o) =>
  Effect.gen(function* () {
    const ctx = yield* providerContext(flagRecord(o, { ttl: o.ttl, idleTimeout: o.idleTimeout }))
    const options = {
      slug: o.slug,
      keep: o.keep,
      releaseWhenReady: o.noKeep,
      ttl: ctx.config.ttl,
      idleTimeout: ctx.config.idleTimeout,
      repoRoot: ctx.repoRoot,
      serverType: o.type,
      timingJson: o.timingJson,
      idleTimeoutFlag: Option.isSome(o.idleTimeout)
    }
    yield* ctx.backend.kind === "ssh-lease"
      ? warmupWorkflow(ctx.backend, options)
      : delegatedWarmupWorkflow(ctx.backend, options)
  })
).pipe(Command.withDescription("acquire a lease, wait until SSH answers, and keep it for `run --id`"))

import { Command, Options } from "@effect/cli"
import { Effect, Either, Option } from "effect"
import { UsageError } from "../../../domain/errors.js"
import { parseAllowEnv, selectEnv } from "../../../domain/envForward.js"
import { runWorkflow } from "../../workflows/run.js"
import { delegatedRunWorkflow } from "../../workflows/delegatedRun.js"
import { flagRecord, leaseOptions, providerOptions } from "../options.js"
import { providerContext } from "../providerContext.js"
import { RemoteArgv } from "../remoteArgv.js"
import { LocalEnv } from "../localEnv.js"
import { WorkspaceFor } from "../workspaceFor.js"
import { emulatedProvider } from "../emulatorFlags.js"

const flag = (name: string, description: string) => Options.boolean(name).pipe(Options.withDescription(description))

export const runCommand = Command.make("run", {
  ...providerOptions,
  ...leaseOptions,
  id: Options.text("id").pipe(Options.withDescription("reuse a kept lease (id, slug or provider id)"), Options.optional),
  keep: flag("keep", "keep a fresh lease after the command"),
  keepOnFailure: flag("keep-on-failure", "keep a fresh lease only when the command fails"),
  noSync: flag("no-sync", "do not sync the working tree (only create the workdir)"),
  syncOnly: flag("sync-only", "sync, print the workdir and stop"),
  forceSyncLarge: flag("force-sync-large", "lift the large-sync guardrail"),
  fullResync: flag("full-resync", "wipe the remote workdir and sync everything"),
  shell: flag("shell", "run the words as one shell command line (bash -lc)"),
  allowEnv: Options.text("allow-env").pipe(Options.withDescription("forward this local variable (repeatable, comma list, trailing * wildcard)"), Options.repeated),
  timingJson: flag("timing-json", "write a timing JSON object to stderr at the end"),
  reclaim: flag("reclaim", "take over a lease claimed by another repository"),
  emulator: flag("emulator", "ssh or fal: run against an in-process stand-in on 127.0.0.1 (a throwaway SSH host, or the fal Compute emulator); no host or account needed")
}, (o) => Effect.scoped(
  Effect.gen(function* () {
    const remote = yield* RemoteArgv
    const allowEnv = yield* Either.match(parseAllowEnv(o.allowEnv), { onLeft: Effect.fail, onRight: Effect.succeed })
    if (o.emulator && (o.keep || o.keepOnFailure || Option.isSome(o.id))) {
      return yield* new UsageError({
        message: "--emulator leases live only as long as this run; --keep, --keep-on-failure and --id do not apply",
        hint: "drop --emulator to keep a lease on a real host or cloud"
      })
    }
    if (Option.isSome(o.id) && (Option.isSome(o.ttl) || Option.isSome(o.idleTimeout) || Option.isSome(o.type))) {
      return yield* new UsageError({
        message: "--ttl, --idle-timeout and --type set a new lease's limits and machine; they do not apply with --id",
        hint: "a kept lease keeps the limits it was created with"
      })
    }
    const emulated = o.emulator ? yield* emulatedProvider(o) : undefined
    const providerFlags = emulated?.flags ?? o
    const loadContext = providerContext(flagRecord(providerFlags, { ttl: o.ttl, idleTimeout: o.idleTimeout, allowEnv, forceSyncLarge: o.forceSyncLarge }))
    const ctx = yield* (emulated ? emulated.withCredentials(loadContext) : loadContext)
    const localEnv = yield* LocalEnv
    const env = selectEnv(ctx.config.env.allow, localEnv)
    const workspaceFor = yield* WorkspaceFor
    const request = {
      workspace: workspaceFor(ctx.repoRoot),
      argv: remote ?? [],
      shell: o.shell,
      id: o.id,
      reclaim: o.reclaim,
      newLease: {
        slug: o.slug,
        keep: o.keep,
        ttl: ctx.config.ttl,
        idleTimeout: ctx.config.idleTimeout,
        repoRoot: ctx.repoRoot,
        serverType: o.type
      },
      keepOnFailure: o.keepOnFailure,
      noSync: o.noSync,
      syncOnly: o.syncOnly,
      forceSyncLarge: o.forceSyncLarge || ctx.config.sync.allowLarge,
      fullResync: o.fullResync,
      excludes: ctx.config.sync.exclude,
      env,
      timingJson: o.timingJson,
      idleTimeoutFlag: Option.isSome(o.idleTimeout)
    }
    // delegated providers run the command through their own API (workflows/delegatedRun.ts)
    return yield* ctx.backend.kind === "ssh-lease"
      ? runWorkflow(ctx.backend, { ...request, repoName: ctx.repoName })
      : delegatedRunWorkflow(ctx.backend, request)
  }))
).pipe(Command.withDescription("warm a box, sync the diff, run the command: crabbox run [flags] -- <command...>"))


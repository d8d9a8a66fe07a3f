/** The composition root: real adapters wired as layers, then the CLI. Only file that calls runMain. */
import { HttpClient } from "@effect/platform"
import { NodeContext, NodeHttpClient, NodeRuntime } from "@effect/platform-node"
import { Cause, Effect, Exit, Layer } from "effect"
import * as FalComputeApi from "./adapters/fal/FalComputeApi.js"
import * as FileClaimStore from "./adapters/fs/FileClaimStore.js"
import * as FreestyleHttpApi from "./adapters/freestyle/FreestyleHttpApi.js"
import * as FileKeyStore from "./adapters/fs/FileKeyStore.js"
import * as StateDirLayer from "./adapters/fs/StateDir.js"
import { StateDir } from "./adapters/fs/StateDir.js"
import * as GitWorkspace from "./adapters/git/GitWorkspace.js"
import * as NodeStdio from "./adapters/node/NodeStdio.js"
import * as PythonModalClient from "./adapters/modal/PythonModalClient.js"
import * as Ssh2Transport from "./adapters/ssh2/Ssh2Transport.js"
import { LocalEnv } from "./app/cli/localEnv.js"
import { describeError } from "./domain/errorMessage.js"
import { runCli } from "./app/cli/runCli.js"
import { WorkspaceFor } from "./app/cli/workspaceFor.js"
import { SshEmulator } from "./app/cli/sshEmulator.js"
import { startEmulatedHost } from "./adapters/ssh2/emulatedHost.js"
import { FalEmulator } from "./app/cli/falEmulator.js"
import { startFalEmulator } from "./emulator/fal/startFalEmulator.js"
import { formatFault, parseFault } from "./emulator/fal/faults.js"
import { ComputeClouds } from "./ports/ComputeApi.js"
import { FreestyleApis } from "./ports/FreestyleApi.js"

const stores = Layer.mergeAll(FileClaimStore.layer, FileKeyStore.layer).pipe(
  Layer.provideMerge(StateDirLayer.layerFromEnv),
  Layer.provideMerge(NodeContext.layer)
)

// node:http underneath: it never follows a redirect, which the fal adapter relies on.
const MainLayer = Layer.mergeAll(
  stores, Ssh2Transport.layer, NodeStdio.layer, NodeHttpClient.layer,
  // modal: the user's local Python client, spawned through the platform's CommandExecutor
  PythonModalClient.layer.pipe(Layer.provide(NodeContext.layer))
)

const program = Effect.gen(function* () {
  const state = yield* StateDir
  const context = yield* Effect.context<NodeContext.NodeContext>()
  const workspaceFor = (root: string) =>
    GitWorkspace.layer({ root, cacheFile: `${state.root}/sync-cache/${encodeURIComponent(root)}.json` }).pipe(
      Layer.provide(Layer.succeedContext(context)))
  const http = yield* HttpClient.HttpClient
  const emulator = SshEmulator.of({ start: startEmulatedHost.pipe(Effect.provide(context)) })
  const falEmulator = FalEmulator.of({
    start: (options) => startFalEmulator(options).pipe(Effect.provide(context)),
    parseFault,
    formatFault
  })
  const code = yield* runCli(process.argv.slice(2)).pipe(
    Effect.provideService(SshEmulator, emulator),
    Effect.provideService(FalEmulator, falEmulator),
    Effect.provideService(LocalEnv, process.env),
    Effect.provideService(WorkspaceFor, workspaceFor),
    Effect.provideService(ComputeClouds, {
      fal: (settings) => FalComputeApi.make(settings).pipe(Effect.provideService(HttpClient.HttpClient, http))
    }),
    Effect.provideService(FreestyleApis, { connect: (settings) => FreestyleHttpApi.connect(http, settings) })
  )
  return code
})

// Exit explicitly: a stdin pipe that nobody closes (or a raw-mode TTY) would otherwise keep
// the process alive after the work is done. stdout/stderr writes are synchronous on Linux.
// A bad CRABBOX_STATE_DIR fails the layers before any command runs: still one line, exit 2.
const main = program.pipe(
  Effect.provide(MainLayer),
  Effect.catchTag("ConfigError", (e) => Effect.sync(() => {
    process.stderr.write(`crabbox: ${describeError(e)}\n`)
    return 2
  }))
)

NodeRuntime.runMain(main, {
  disableErrorReporting: true,
  teardown: (exit) => {
    const code = Exit.isSuccess(exit) ? Number(exit.value) : Cause.isInterruptedOnly(exit.cause) ? 130 : 1
    if (Exit.isFailure(exit) && !Cause.isInterruptedOnly(exit.cause)) {
      process.stderr.write(`crabbox: internal error: ${Cause.pretty(exit.cause).split("\n")[0]}\n`)
    }
    process.exit(code)
  }
})

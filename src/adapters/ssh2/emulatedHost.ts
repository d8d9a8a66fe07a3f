/**
 * The `--emulator` host: a LocalSshServer authorizing one fresh key, with its work root in
 * a temp dir that goes away with the scope. Commands run on this machine as the current user.
 */
import { FileSystem } from "@effect/platform"
import { Effect } from "effect"
import { RemoteSetupFailed } from "../../domain/errors.js"
import { generateEd25519KeyPair } from "../shared/ed25519KeyPair.js"
import { startLocalSshServer } from "./LocalSshServer.js"

export const startEmulatedHost = Effect.gen(function* () {
  const fs = yield* FileSystem.FileSystem
  const dir = yield* fs.makeTempDirectoryScoped({ prefix: "crabbox-emulator-" })
  const pair = generateEd25519KeyPair("crabbox emulator")
  const keyPath = `${dir}/id_ed25519`
  yield* fs.writeFileString(keyPath, pair.private, { mode: 0o600 })
  const workRoot = `${dir}/work`
  yield* fs.makeDirectory(workRoot, { recursive: true })
  const server = yield* startLocalSshServer({ authorizedKeys: [pair.public], cwd: dir })
  return { host: server.host, port: server.port, keyPath, workRoot }
}).pipe(Effect.mapError((e) => new RemoteSetupFailed({ message: `could not start the SSH emulator: ${"message" in e ? e.message : String(e)}` })))

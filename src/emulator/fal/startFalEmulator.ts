/**
 * A fake fal Compute API on 127.0.0.1 whose instances answer SSH for real (see
 * src/app/cli/falEmulator.ts for the contract). Layout of its temp dir, removed with the
 * scope: `instances/<id>/` is each instance's home, what `/home/ubuntu` means in its commands.
 *
 * Closing the scope stops both servers, ends every SSH session, kills every command and
 * removes every instance dir.
 */
import { FileSystem } from "@effect/platform"
import { HttpRouter } from "@effect/platform"
import { Clock, Duration, Effect, Option } from "effect"
import type { FalEmulatorOptions, RunningFalEmulator } from "../../app/cli/falEmulator.js"
import { RemoteSetupFailed } from "../../domain/errors.js"
import { makeAdminRoutes } from "./adminRoutes.js"
import { makeApiRoutes } from "./apiRoutes.js"
import { makeFaultPlan } from "./faults.js"
import { serveHttp } from "./httpServer.js"
import { makeIdempotencyCache } from "./idempotency.js"
import { toView } from "./instance.js"
import { makeInstanceStore } from "./instanceStore.js"
import { makeLifecycle } from "./lifecycle.js"
import { makeRequestLog } from "./requestLog.js"
import { startSshGateway } from "./sshGateway.js"
import { isPlainPath, VIRTUAL_HOME } from "./virtualHome.js"

const DEFAULT_READY_DELAY = "1 second"
const DEFAULT_IDEMPOTENCY_WINDOW = "10 minutes"

const setupFailed = (message: string) => new RemoteSetupFailed({ message: `could not start the fal emulator: ${message}` })

export const startFalEmulator = (options: FalEmulatorOptions = {}) =>
  Effect.gen(function* () {
    const fs = yield* FileSystem.FileSystem
    const root = yield* fs.realPath(yield* fs.makeTempDirectoryScoped({ prefix: "crabbox-fal-emulator-" }))
    if (!isPlainPath(root)) {
      return yield* setupFailed(`its temp dir ${JSON.stringify(root)} needs quoting in shell commands; set TMPDIR to a plain path`)
    }
    const instancesDir = `${root}/instances`
    yield* fs.makeDirectory(instancesDir)

    const store = yield* makeInstanceStore
    const faults = yield* makeFaultPlan(options.faults ?? [])
    const requests = yield* makeRequestLog
    const idempotency = yield* makeIdempotencyCache(Duration.decode(options.idempotencyWindow ?? DEFAULT_IDEMPOTENCY_WINDOW))

    const gateway = yield* startSshGateway({
      port: options.sshPort ?? 0,
      acceptDelay: faults.sshDelay,
      route: (login) => Clock.currentTimeMillis.pipe(
        Effect.flatMap((now) => store.route(login, now)),
        Effect.map(Option.flatMap((i) => i.sshKey === undefined
          ? Option.none()
          : Option.some({ id: i.id, key: i.sshKey, home: i.home }))))
    })
    const lifecycle = makeLifecycle({
      fs, instancesDir, store, faults,
      revoke: gateway.revoke,
      readyDelay: Duration.decode(options.readyDelay ?? DEFAULT_READY_DELAY),
      nickname: options.nickname ?? "crabbox-emulator",
      region: "us-west",
      scope: yield* Effect.scope
    })
    const api = makeApiRoutes({
      store, lifecycle, idempotency, faults, requests,
      apiKey: Option.fromNullable(options.apiKey),
      createLock: yield* Effect.makeSemaphore(1),
      onRequest: options.onRequest ?? (() => Effect.void)
    })
    const admin = makeAdminRoutes({ store, lifecycle, faults, requests })
    const http = yield* serveHttp(HttpRouter.concat(api, admin), options.port ?? 0)

    const base = `http://127.0.0.1:${http.port}`
    const homeFor = (id: string) => `${instancesDir}/${id}`
    return {
      apiUrl: `${base}/v1`,
      adminUrl: `${base}/_emulator`,
      sshHost: "127.0.0.1",
      sshPort: gateway.port,
      sshHostKey: gateway.hostKey,
      root,
      virtualHome: VIRTUAL_HOME,
      homeFor,
      workRootFor: (id) => `${homeFor(id)}/crabbox`,
      instances: Effect.flatMap(Clock.currentTimeMillis, (now) =>
        Effect.map(store.all, (all) => all.map((i) => toView(i, now)))),
      requests: requests.all,
      faults: faults.active,
      addFaults: faults.add,
      clearFaults: faults.clear,
      stopInstance: lifecycle.stop
    } satisfies RunningFalEmulator
  }).pipe(
    Effect.catchTags({
      SystemError: (e) => setupFailed(e.message),
      BadArgument: (e) => setupFailed(e.message),
      SshServerError: (e) => setupFailed(e.message),
      ServeError: (e) => setupFailed(`cannot listen on 127.0.0.1:${options.port ?? 0}: ${String(e.cause)}`)
    })
  )

/**
 * The emulator's own endpoints under `/_emulator` (no key, loopback only, not recorded):
 *
 *   GET    /_emulator/instances             every instance ever created, with `deleted`
 *   POST   /_emulator/instances/{id}/stop   turn a live instance `stopped` now
 *   GET    /_emulator/faults                the faults in force, as text
 *   POST   /_emulator/faults                {"faults": ["fail:get:503:2", ...], "replace"?: true}
 *   DELETE /_emulator/faults                clear every fault
 *   GET    /_emulator/requests              the recorded API requests (no key values)
 */
import { HttpRouter, HttpServerRequest, HttpServerResponse } from "@effect/platform"
import { Clock, Effect, Either, Schema } from "effect"
import type { FalFault } from "../../app/cli/falEmulator.js"
import { errorResponse } from "./errorEnvelope.js"
import { formatFault, parseFault, type FaultPlan } from "./faults.js"
import { toView } from "./instance.js"
import type { InstanceStore } from "./instanceStore.js"
import type { Lifecycle } from "./lifecycle.js"
import type { RequestLog } from "./requestLog.js"

export interface AdminDeps {
  readonly store: InstanceStore
  readonly lifecycle: Lifecycle
  readonly faults: FaultPlan
  readonly requests: RequestLog
}

const FaultsBody = Schema.Struct({
  faults: Schema.Array(Schema.String),
  replace: Schema.optional(Schema.Boolean)
})

const badRequest = (message: string) => Effect.map(errorResponse(400, message), (e) => e.response)

export const makeAdminRoutes = (deps: AdminDeps) => {
  const faultList = Effect.map(deps.faults.active, (faults) =>
    HttpServerResponse.unsafeJson({ faults: faults.map(formatFault) }))

  const instances = Effect.gen(function* () {
    const now = yield* Clock.currentTimeMillis
    const all = yield* deps.store.all
    return HttpServerResponse.unsafeJson({ instances: all.map((i) => toView(i, now)) })
  })

  const stop = Effect.gen(function* () {
    const params = yield* HttpRouter.params
    const stopped = yield* deps.lifecycle.stop(params["id"] ?? "")
    return stopped
      ? HttpServerResponse.unsafeJson({ stopped: true })
      : (yield* errorResponse(404, "Resource not found")).response
  })

  const addFaults = Effect.gen(function* () {
    const request = yield* HttpServerRequest.HttpServerRequest
    const body = yield* request.json.pipe(
      Effect.flatMap(Schema.decodeUnknown(FaultsBody)),
      Effect.either)
    if (Either.isLeft(body)) return yield* badRequest("expected {\"faults\": [\"<fault>\", ...], \"replace\"?: boolean}")
    const parsed: Array<FalFault> = []
    for (const text of body.right.faults) {
      const fault = parseFault(text)
      if (Either.isLeft(fault)) return yield* badRequest(fault.left)
      parsed.push(fault.right)
    }
    if (body.right.replace === true) yield* deps.faults.clear
    yield* deps.faults.add(parsed)
    return yield* faultList
  })

  return HttpRouter.empty.pipe(
    HttpRouter.get("/_emulator/instances", instances),
    HttpRouter.post("/_emulator/instances/:id/stop", stop),
    HttpRouter.get("/_emulator/faults", faultList),
    HttpRouter.post("/_emulator/faults", addFaults),
    HttpRouter.del("/_emulator/faults", Effect.zipRight(deps.faults.clear, faultList)),
    HttpRouter.get("/_emulator/requests", Effect.map(deps.requests.all, (requests) => HttpServerResponse.unsafeJson({ requests })))
  )
}

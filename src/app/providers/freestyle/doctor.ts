/** Read-only checks for freestyle: a key is set, and it can list the account's VMs. Creates nothing. */
import { Duration, Effect, Either } from "effect"
import type { CrabboxError } from "../../../domain/errors.js"
import { describeError } from "../../../domain/errorMessage.js"
import type { FreestyleApiService } from "../../../ports/FreestyleApi.js"
import type { DoctorCheck } from "../backend.js"
import { isCrabboxVmName } from "./names.js"

const BUDGET = Duration.seconds(10)

export const freestyleDoctor = (api: Effect.Effect<FreestyleApiService, CrabboxError>): Effect.Effect<ReadonlyArray<DoctorCheck>> =>
  Effect.gen(function* () {
    const connected = yield* Effect.either(api)
    if (Either.isLeft(connected)) {
      return [{ status: "missing", check: "freestyle-auth", message: describeError(connected.left) }]
    }
    const a = connected.right
    const auth: DoctorCheck = { status: "ok", check: "freestyle-auth", message: `provider=freestyle endpoint=${a.endpoint} key=env` }
    const listed = yield* Effect.either(a.listVms.pipe(Effect.timeoutFail({
      duration: BUDGET,
      onTimeout: () => ({ kind: "timeout", message: `no answer within ${Duration.format(BUDGET)}` })
    })))
    if (Either.isLeft(listed)) {
      return [auth, {
        status: "failed", check: "freestyle-inventory",
        message: `provider=freestyle endpoint=${a.endpoint} class=${listed.left.kind} ${listed.left.message}`
      }]
    }
    const owned = listed.right.filter((v) => v.name._tag === "Some" && isCrabboxVmName(v.name.value)).length
    return [auth, {
      status: "ok", check: "freestyle-inventory",
      message: `provider=freestyle endpoint=${a.endpoint} auth=ready inventory=ready inventory_count=${listed.right.length} crabbox_vms=${owned} api=list mutation=false`
    }]
  })

/**
 * Creating, stopping and deleting emulated instances, with everything around the record: the
 * instance's own dir, the faults in force at create, and the SSH gateway's revocation.
 */
import { FileSystem } from "@effect/platform"
import { Clock, Duration, Effect, Option, Random, type Scope } from "effect"
import { parseAuthorizedKeys } from "../../adapters/ssh2/localServer/keys.js"
import type { FaultPlan } from "./faults.js"
import type { InstanceRecord, InstanceType, Sector } from "./instance.js"
import type { InstanceStore } from "./instanceStore.js"

export interface CreateRequest {
  readonly instanceType: InstanceType
  readonly sshKey: string
  readonly sector?: Sector
}

export interface LifecycleDeps {
  readonly fs: FileSystem.FileSystem
  /** instance dirs are `<instancesDir>/<id>` */
  readonly instancesDir: string
  readonly store: InstanceStore
  readonly faults: FaultPlan
  readonly revoke: (id: string) => Effect.Effect<void>
  readonly readyDelay: Duration.Duration
  readonly nickname: string
  readonly region: string
  /** the emulator's scope: scheduled stops end with it */
  readonly scope: Scope.Scope
}

const ID_ALPHABET = "abcdefghijklmnopqrstuvwxyz0123456789"

const randomId = Effect.gen(function* () {
  let id = "inst_"
  for (let i = 0; i < 12; i++) id += ID_ALPHABET[yield* Random.nextIntBetween(0, ID_ALPHABET.length)]
  return id
})

export const makeLifecycle = (deps: LifecycleDeps) => {
  const { fs, store } = deps
  const freshId: Effect.Effect<string> = Effect.flatMap(randomId, (id) =>
    Effect.flatMap(store.exists(id), (taken) => (taken ? freshId : Effect.succeed(id))))

  const create = (request: CreateRequest) =>
    Effect.gen(function* () {
      const now = yield* Clock.currentTimeMillis
      const id = yield* freshId
      const home = `${deps.instancesDir}/${id}`
      yield* fs.makeDirectory(home, { recursive: true })
      // An unreadable key still makes an instance (fal checks only that it is non-empty); no login will match it.
      const key = yield* parseAuthorizedKeys([request.sshKey]).pipe(
        Effect.map((keys) => keys[0]),
        Effect.orElseSucceed(() => undefined))
      const neverReady = yield* deps.faults.neverReady
      const stoppedAfter = yield* deps.faults.stoppedAfter
      const readyAt = now + Duration.toMillis(deps.readyDelay)
      const stoppedAt = Option.getOrUndefined(Option.map(stoppedAfter, (after) => readyAt + Duration.toMillis(after)))
      const instance: InstanceRecord = {
        id,
        instanceType: request.instanceType,
        ...(request.sector === undefined ? {} : { sector: request.sector }),
        region: deps.region,
        nickname: deps.nickname,
        sshKey: key,
        home,
        createdAt: now,
        readyAt: neverReady ? undefined : readyAt,
        stoppedAt,
        deletedAt: undefined
      }
      yield* store.add(instance)
      // Going stopped on its own ends the sessions it has, as a stopped machine would.
      if (stoppedAt !== undefined) {
        yield* Effect.sleep(Duration.millis(stoppedAt - now)).pipe(
          Effect.zipRight(deps.revoke(id)),
          Effect.forkIn(deps.scope))
      }
      return instance
    })

  /** Gone at once: no new logins, sessions ended, commands killed, files removed. False when absent. */
  const remove = (id: string) =>
    Effect.gen(function* () {
      const marked = yield* store.markDeleted(id, yield* Clock.currentTimeMillis)
      if (Option.isNone(marked)) return false
      yield* deps.revoke(id)
      yield* fs.remove(marked.value.home, { recursive: true }).pipe(Effect.ignore)
      return true
    })

  /** Stopped now (files kept until delete). False when absent. */
  const stop = (id: string) =>
    Effect.gen(function* () {
      const stopped = yield* store.stop(id, yield* Clock.currentTimeMillis)
      if (Option.isNone(stopped)) return false
      yield* deps.revoke(id)
      return true
    })

  return { create, remove, stop }
}

export type Lifecycle = ReturnType<typeof makeLifecycle>

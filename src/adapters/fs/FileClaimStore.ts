/**
 * ClaimStore on disk: `claims/<leaseId>.json` (indented JSON, trailing newline, 0600,
 * written atomically and durably) under the StateDir.
 *
 * Mutations are compare-and-swap under the lease's lock, which has two halves: an
 * in-process semaphore (re-entrant per fiber, shared with MemoryClaimStore) and a
 * cross-process proper-lockfile lock on `claim-locks/<leaseId>.lock`. The semaphore comes
 * first, so fibers of one process queue in memory and only one of them polls the file lock.
 */
import { FileSystem } from "@effect/platform"
import type { PlatformError } from "@effect/platform/Error"
import { Deferred, Duration, Effect, Exit, Layer, Option, Schedule, Schema, Scope } from "effect"
import lockfile from "proper-lockfile"
import { Claim, ClaimJson } from "../../domain/claim.js"
import { ClaimChanged, ClaimStoreError } from "../../domain/errors.js"
import { isLeaseId, type LeaseId } from "../../domain/ids.js"
import { ClaimStore } from "../../ports/ClaimStore.js"
import { makeLeaseLocks } from "../shared/leaseLocks.js"
import { atomicWrite, removeDurably } from "./atomicWrite.js"
import { claimFile, claimLockFile, claimsDir, StateDir } from "./StateDir.js"

export interface LockOptions {
  /** How long to wait for another process to let go before failing with ClaimStoreError. */
  readonly wait: Duration.DurationInput
  /**
   * When a held lock counts as abandoned (its holder refreshes it every stale/2; a killed
   * process stops refreshing). proper-lockfile raises anything under 2 seconds to 2 seconds.
   */
  readonly stale: Duration.DurationInput
}

/** The wait outlasts `stale`, so a lock left by a killed process is taken over, not reported. */
export const defaultLockOptions: LockOptions = { wait: "60 seconds", stale: "20 seconds" }

const sameClaim = Schema.equivalence(Claim)

const failWith = (operation: string, path: string) => (e: { readonly message: string }) =>
  new ClaimStoreError({ operation, path, message: e.message })

const notFound = (e: PlatformError): boolean => e._tag === "SystemError" && e.reason === "NotFound"

/** Indented JSON with a trailing newline, refused if it would not read back as the same claim. */
const encodeClaim = (claim: Claim, operation: string, path: string): Effect.Effect<string, ClaimStoreError> =>
  Effect.gen(function* () {
    const text = JSON.stringify(yield* Schema.encode(Claim)(claim), null, 2) + "\n"
    const back = yield* Schema.decode(ClaimJson)(text)
    if (!sameClaim(back, claim)) {
      return yield* Effect.fail({ message: "changes when written as JSON (NaN or Infinity?)" })
    }
    return text
  }).pipe(Effect.mapError((e) => new ClaimStoreError({ operation, path, message: `claim is not storable: ${e.message}` })))

/** Internal: proper-lockfile said another holder has it; retried until `wait` runs out. */
class LockBusy extends Schema.TaggedError<LockBusy>()("LockBusy", {}) {}

const lockRetry = (wait: Duration.DurationInput) =>
  Schedule.exponential("10 millis", 1.5).pipe(
    Schedule.jittered,
    Schedule.union(Schedule.spaced("500 millis")),
    Schedule.upTo(wait)
  )

const make = (options: LockOptions) => Effect.gen(function* () {
  const fs = yield* FileSystem.FileSystem
  const { root } = yield* StateDir
  const locks = yield* makeLeaseLocks
  const staleMs = Duration.toMillis(Duration.decode(options.stale))

  /**
   * Hold the cross-process lock in the current scope. Succeeds with an effect that fails
   * if proper-lockfile reports the lock compromised (it could not refresh it, or someone
   * took it as stale), so the holder stops instead of writing without the lock. Without
   * our handler proper-lockfile would throw from a timer and crash the process.
   */
  const holdFileLock = (id: LeaseId) => Effect.gen(function* () {
    const target = claimLockFile(root, id)
    if (!(yield* fs.exists(target))) yield* atomicWrite(fs, target, "", { mode: 0o600, exclusive: true })
    const compromised = yield* Deferred.make<never, ClaimStoreError>()
    const onCompromised = (err: Error) =>
      Deferred.unsafeDone(compromised, Exit.fail(new ClaimStoreError({ operation: "lock", path: target, message: `lock lost: ${err.message}` })))
    const tryLock = Effect.tryPromise({
      // retries: 0 because waiting is our Schedule, which an interrupt (Ctrl-C) can stop.
      try: () => lockfile.lock(target, { stale: staleMs, retries: 0, realpath: false, onCompromised }),
      catch: (e) =>
        (e as { code?: unknown }).code === "ELOCKED"
          ? new LockBusy()
          : new ClaimStoreError({ operation: "lock", path: target, message: String(e) })
    })
    yield* Effect.acquireRelease(tryLock, (release) => Effect.promise(() => release().catch(() => undefined))).pipe(
      Effect.retry({ schedule: lockRetry(options.wait), while: (e) => e._tag === "LockBusy" }),
      Effect.catchTag("LockBusy", () =>
        new ClaimStoreError({
          operation: "lock",
          path: target,
          message: `held by another crabbox process for over ${Duration.format(Duration.decode(options.wait))}`
        }))
    )
    return Deferred.await(compromised)
  }).pipe(Effect.mapError((e) => (e instanceof ClaimStoreError ? e : failWith("lock", claimLockFile(root, id))(e))))

  // An explicit scope rather than Effect.scoped: `use` may need the caller's own Scope.
  const holdingFileLock = <A, E, R>(id: LeaseId, use: Effect.Effect<A, E, R>) =>
    Effect.acquireUseRelease(
      Scope.make(),
      // `lost` is made interruptible: in an uninterruptible region (a finalizer, a rollback)
      // the race's loser would otherwise inherit it, never stop, and the race never end.
      (scope) => Effect.flatMap(Scope.extend(holdFileLock(id), scope), (lost) => Effect.raceFirst(use, Effect.interruptible(lost))),
      (scope, exit) => Scope.close(scope, exit)
    )

  const withLock = <A, E, R>(id: LeaseId, use: Effect.Effect<A, E, R>): Effect.Effect<A, E | ClaimStoreError, R> =>
    Effect.flatMap(locks.isHeld(id), (held) => (held ? use : locks.exclusive(id, holdingFileLock(id, use))))

  /** The stored claim, if any; a file that exists but does not decode is an error. */
  const read = (id: LeaseId): Effect.Effect<Option.Option<Claim>, ClaimStoreError> => {
    const path = claimFile(root, id)
    return Effect.gen(function* () {
      const text = yield* fs.readFileString(path).pipe(
        Effect.map(Option.some),
        Effect.catchIf(notFound, () => Effect.succeedNone),
        Effect.mapError(failWith("read", path)))
      if (Option.isNone(text)) return Option.none()
      const claim = yield* Schema.decode(ClaimJson)(text.value).pipe(Effect.mapError(failWith("decode", path)))
      if (claim.leaseId !== id) {
        return yield* new ClaimStoreError({ operation: "decode", path, message: `file holds the claim for ${claim.leaseId}` })
      }
      return Option.some(claim)
    })
  }

  const expectStored = (expected: Claim) =>
    Effect.flatMap(read(expected.leaseId), (stored) =>
      Option.isSome(stored) && sameClaim(stored.value, expected)
        ? Effect.void
        : Effect.fail(new ClaimChanged({ leaseId: expected.leaseId })))

  const list = Effect.gen(function* () {
    const dir = claimsDir(root)
    const names = yield* fs.readDirectory(dir).pipe(
      Effect.catchIf(notFound, () => Effect.succeed([])),
      Effect.mapError(failWith("list", dir)))
    // Temp files (".<name>.tmp-*") and anything not named like a lease are not claims.
    const ids = names.flatMap((name) => {
      const id = name.endsWith(".json") ? name.slice(0, -".json".length) : ""
      return isLeaseId(id) ? [id] : []
    })
    const claims = yield* Effect.forEach(ids, (id) =>
      read(id).pipe(
        // Skipped, never deleted: a damaged claim may be the only record of a paid machine.
        Effect.tapError((e) => Effect.logDebug("skipping unreadable claim", e.path, e.message)),
        Effect.orElseSucceed(() => Option.none<Claim>())), { concurrency: 8 })
    return claims.flatMap(Option.toArray).sort((a, b) => a.leaseId.localeCompare(b.leaseId))
  })

  return ClaimStore.of({
    get: read,
    list,
    create: (claim) => {
      const path = claimFile(root, claim.leaseId)
      return withLock(claim.leaseId, Effect.gen(function* () {
        const text = yield* encodeClaim(claim, "create", path)
        // Exclusive publish: even a writer that skipped the lock cannot be overwritten.
        const created = yield* atomicWrite(fs, path, text, { mode: 0o600, exclusive: true }).pipe(
          Effect.mapError(failWith("create", path)))
        if (!created) return yield* new ClaimChanged({ leaseId: claim.leaseId })
      }))
    },
    replace: (expected, next) => {
      if (next.leaseId !== expected.leaseId) {
        return Effect.dieMessage(`ClaimStore.replace: ${expected.leaseId} cannot become ${next.leaseId}`)
      }
      const path = claimFile(root, next.leaseId)
      return withLock(next.leaseId, Effect.gen(function* () {
        const text = yield* encodeClaim(next, "replace", path)
        yield* expectStored(expected)
        yield* atomicWrite(fs, path, text, { mode: 0o600 }).pipe(Effect.mapError(failWith("replace", path)))
      }))
    },
    remove: (expected) => {
      const path = claimFile(root, expected.leaseId)
      return withLock(expected.leaseId, Effect.zipRight(
        expectStored(expected),
        removeDurably(fs, path).pipe(Effect.mapError(failWith("remove", path)))))
    },
    withLock
  })
})

/** The file store with explicit lock timings (tests use short ones). */
export const layerWith = (options: LockOptions): Layer.Layer<ClaimStore, never, StateDir | FileSystem.FileSystem> =>
  Layer.scoped(ClaimStore, make(options))

export const layer: Layer.Layer<ClaimStore, never, StateDir | FileSystem.FileSystem> = layerWith(defaultLockOptions)

/** Port: durable local claims, one per lease. A claim is the local proof of ownership. */
import type { Effect, Option } from "effect"
import { Context } from "effect"
import type { Claim } from "../domain/claim.js"
import type { ClaimChanged, ClaimStoreError } from "../domain/errors.js"
import type { LeaseId } from "../domain/ids.js"

export class ClaimStore extends Context.Tag("crabbox/ClaimStore")<ClaimStore, {
  /** The claim for one lease, if any. An unreadable claim is an error, not "absent". */
  readonly get: (id: LeaseId) => Effect.Effect<Option.Option<Claim>, ClaimStoreError>
  /** Every readable claim (unreadable files are skipped, never deleted). */
  readonly list: Effect.Effect<ReadonlyArray<Claim>, ClaimStoreError>
  /** Create a claim; fails with ClaimChanged if one already exists for that lease. */
  readonly create: (claim: Claim) => Effect.Effect<void, ClaimStoreError | ClaimChanged>
  /** Compare-and-swap: replace only if the stored claim still deeply equals `expected`. */
  readonly replace: (expected: Claim, next: Claim) => Effect.Effect<void, ClaimStoreError | ClaimChanged>
  /** Compare-and-swap delete: remove only if the stored claim still deeply equals `expected`. */
  readonly remove: (expected: Claim) => Effect.Effect<void, ClaimStoreError | ClaimChanged>
  /** Run `use` holding the lease's lock (in-process and across processes). */
  readonly withLock: <A, E, R>(id: LeaseId, use: Effect.Effect<A, E, R>) => Effect.Effect<A, E | ClaimStoreError, R>
}>() {}

/**
 * Every instance the emulator created, in creation order, deleted ones kept (marked) so a
 * test can check for residue. The API sees only the live ones.
 */
import { Effect, Option, Ref } from "effect"
import { acceptsLogins, type InstanceRecord } from "./instance.js"

/** What an SSH login presents: the key (algorithm and blob) and the user name. */
export interface LoginAttempt {
  readonly algo: string
  readonly data: Buffer
  readonly username: string
}

const sameKey = (instance: InstanceRecord, login: LoginAttempt) =>
  instance.sshKey !== undefined && instance.sshKey.type === login.algo && instance.sshKey.blob.equals(login.data)

export const makeInstanceStore = Effect.gen(function* () {
  const ref = yield* Ref.make<ReadonlyArray<InstanceRecord>>([])
  const update = (id: string, f: (i: InstanceRecord) => InstanceRecord) =>
    Ref.modify(ref, (all) => {
      const found = all.find((i) => i.id === id && i.deletedAt === undefined)
      return found === undefined
        ? [Option.none<InstanceRecord>(), all]
        : [Option.some(f(found)), all.map((i) => (i === found ? f(found) : i))]
    })
  return {
    all: Ref.get(ref),
    live: Ref.get(ref).pipe(Effect.map((all) => all.filter((i) => i.deletedAt === undefined))),
    /** a live instance */
    find: (id: string) => Ref.get(ref).pipe(Effect.map((all) =>
      Option.fromNullable(all.find((i) => i.id === id && i.deletedAt === undefined)))),
    /** ids are never reused, deleted instances included */
    exists: (id: string) => Ref.get(ref).pipe(Effect.map((all) => all.some((i) => i.id === id))),
    add: (instance: InstanceRecord) => Ref.update(ref, (all) => [...all, instance]),
    markDeleted: (id: string, now: number) => update(id, (i) => ({ ...i, deletedAt: now })),
    /** stopped from `now` on, unless it already is */
    stop: (id: string, now: number) =>
      update(id, (i) => (i.stoppedAt !== undefined && i.stoppedAt <= now ? i : { ...i, stoppedAt: now })),
    /**
     * The instance a login is for: the live, ready instances holding that key. When several
     * hold it, the user name must be one of their ids; otherwise the login is refused rather
     * than guessed.
     */
    route: (login: LoginAttempt, now: number) =>
      Ref.get(ref).pipe(Effect.map((all) => {
        const candidates = all.filter((i) => acceptsLogins(i, now) && sameKey(i, login))
        if (candidates.length === 1) return Option.fromNullable(candidates[0])
        return Option.fromNullable(candidates.find((i) => i.id === login.username))
      }))
  }
})

export type InstanceStore = Effect.Effect.Success<typeof makeInstanceStore>

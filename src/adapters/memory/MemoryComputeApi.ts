/**
 * In-memory ComputeApi with fault injection, for workflow and property tests. It keeps
 * the contract a backend relies on: idempotent create (same key + same request inside the
 * window gives the same instance), 404 once deleted, paged list. Faults are chosen per
 * call by a function the test supplies: fail before acting, act but lose the response,
 * or die (the process is killed: nothing it does afterwards reaches the cloud).
 */
import { Duration, Effect, Option, Ref } from "effect"
import { ComputeApiError } from "../../domain/errors.js"
import type { ComputeApiService, ComputeInstance, CreateInstanceRequest, InstanceStatus } from "../../ports/ComputeApi.js"

export type Operation = "create" | "get" | "list" | "delete"

export type FaultAction =
  | { readonly _tag: "ok" }
  /** refused before acting (5xx, 429 or a timeout before the request arrived) */
  | { readonly _tag: "fail"; readonly kind: "server" | "rate-limited" | "timeout" }
  /** the operation happens, the caller gets a 5xx */
  | { readonly _tag: "lose" }
  /** the process is killed here, after (`applied`) or before the operation happened */
  | { readonly _tag: "die"; readonly applied: boolean }

export interface CloudInstance {
  readonly id: string
  readonly instanceType: string
  readonly deleted: boolean
  /** created outside crabbox (another team member, another tool) */
  readonly foreign: boolean
  readonly gets: number
}

export interface MemoryCloudOptions {
  readonly provider?: string
  readonly endpoint?: string
  readonly credentialBinding?: string
  /** GETs an instance answers `provisioning` before `ready`; Infinity: never ready */
  readonly readyAfterGets?: number
  /** an instance reports this instead of becoming ready */
  readonly terminalStatus?: "stopped"
  readonly fault?: (operation: Operation, call: number) => FaultAction
  readonly pageSize?: number
  readonly idempotencyWindow?: Duration.DurationInput
}

export interface MemoryCloud {
  readonly api: ComputeApiService
  /** every instance ever created, deleted ones included */
  readonly instances: Effect.Effect<ReadonlyArray<CloudInstance>>
  readonly addForeign: Effect.Effect<string>
  /** the killed process is gone; a fresh process (a new `api`) talks to the same cloud */
  readonly dead: Effect.Effect<boolean>
  /** the same cloud seen by a new process without faults */
  readonly freshApi: ComputeApiService
}

interface State {
  readonly instances: ReadonlyMap<string, CloudInstance>
  readonly idempotency: ReadonlyMap<string, { readonly id: string; readonly request: string }>
  readonly calls: number
  readonly nextId: number
  readonly dead: boolean
}

const requestText = (r: CreateInstanceRequest) => JSON.stringify([r.instanceType, r.sshPublicKey, Option.getOrNull(r.sector)])

export const make = (options: MemoryCloudOptions = {}): Effect.Effect<MemoryCloud> =>
  Effect.gen(function* () {
    const provider = options.provider ?? "fal"
    const readyAfter = options.readyAfterGets ?? 1
    const state = yield* Ref.make<State>({ instances: new Map(), idempotency: new Map(), calls: 0, nextId: 1, dead: false })
    const error = (operation: Operation, kind: ComputeApiError["kind"], status?: number) =>
      new ComputeApiError({ provider, operation, kind, message: `memory cloud: ${kind}`, ...(status === undefined ? {} : { status }) })

    const view = (i: CloudInstance): ComputeInstance => {
      const status: InstanceStatus = i.gets >= readyAfter ? (options.terminalStatus ? "terminated" : "ready") : "provisioning"
      return {
        id: i.id, instanceType: i.instanceType, status,
        rawStatus: status === "terminated" ? "stopped" : status,
        region: Option.some("us-west"),
        host: status === "ready" ? Option.some("127.0.0.1") : Option.none()
      }
    }

    /** Apply `act` under the fault chosen for this call. */
    const call = <A>(operation: Operation, faulty: boolean, act: (s: State) => readonly [A, State] | ComputeApiError) =>
      Effect.gen(function* () {
        const s0 = yield* Ref.get(state)
        if (faulty && s0.dead) return yield* error(operation, "transport")
        const n = s0.calls + 1
        yield* Ref.set(state, { ...s0, calls: n })
        const fault = faulty && options.fault ? options.fault(operation, n) : { _tag: "ok" as const }
        if (fault._tag === "fail") return yield* error(operation, fault.kind, fault.kind === "server" ? 503 : fault.kind === "rate-limited" ? 429 : undefined)
        const s = yield* Ref.get(state)
        if (fault._tag === "die" && !fault.applied) {
          yield* Ref.set(state, { ...s, dead: true })
          return yield* Effect.interrupt
        }
        const outcome = act(s)
        if (outcome instanceof ComputeApiError) return yield* outcome
        const [value, next] = outcome
        if (fault._tag === "die") {
          yield* Ref.set(state, { ...next, dead: true })
          return yield* Effect.interrupt
        }
        yield* Ref.set(state, next)
        if (fault._tag === "lose") return yield* error(operation, "server", 502)
        return value
      })

    const makeApi = (faulty: boolean): ComputeApiService => ({
      capabilities: {
        provider,
        endpoint: options.endpoint ?? "memory://compute",
        idempotencyWindow: Duration.decode(options.idempotencyWindow ?? "10 minutes"),
        instanceTypes: ["gpu_1x_h100_sxm5", "gpu_8x_h100_sxm5"],
        credentialBinding: options.credentialBinding ?? "memory-binding"
      },
      create: (request, key) => call("create", faulty, (s) => {
        const cached = s.idempotency.get(key)
        if (cached) {
          if (cached.request !== requestText(request)) return error("create", "conflict", 409)
          return [view(s.instances.get(cached.id)!), s] as const
        }
        const id = `inst_${s.nextId}`
        const instance: CloudInstance = { id, instanceType: request.instanceType, deleted: false, foreign: false, gets: 0 }
        return [view(instance), {
          ...s,
          nextId: s.nextId + 1,
          instances: new Map(s.instances).set(id, instance),
          idempotency: new Map(s.idempotency).set(key, { id, request: requestText(request) })
        }] as const
      }),
      get: (id) => call("get", faulty, (s) => {
        const i = s.instances.get(id)
        if (!i || i.deleted) return error("get", "not-found", 404)
        const next = { ...i, gets: i.gets + 1 }
        return [view(next), { ...s, instances: new Map(s.instances).set(id, next) }] as const
      }),
      list: (cursor) => call("list", faulty, (s) => {
        const live = [...s.instances.values()].filter((i) => !i.deleted)
        const size = options.pageSize ?? 2
        const start = Option.match(cursor, { onNone: () => 0, onSome: Number })
        const page = live.slice(start, start + size)
        const nextCursor = start + size < live.length ? Option.some(String(start + size)) : Option.none()
        return [{ instances: page.map(view), nextCursor }, s] as const
      }),
      delete: (id) => call("delete", faulty, (s) => {
        const i = s.instances.get(id)
        if (!i || i.deleted) return error("delete", "not-found", 404)
        return [undefined, { ...s, instances: new Map(s.instances).set(id, { ...i, deleted: true }) }] as const
      })
    })

    return {
      api: makeApi(true),
      freshApi: makeApi(false),
      instances: Effect.map(Ref.get(state), (s) => [...s.instances.values()]),
      dead: Effect.map(Ref.get(state), (s) => s.dead),
      addForeign: Ref.modify(state, (s) => {
        const id = `inst_foreign_${s.nextId}`
        const instance: CloudInstance = { id, instanceType: "gpu_1x_h100_sxm5", deleted: false, foreign: true, gets: 0 }
        return [id, { ...s, nextId: s.nextId + 1, instances: new Map(s.instances).set(id, instance) }] as const
      })
    }
  })

/**
 * FreestyleApis over @effect/platform's HttpClient: the v1 REST API as the reference
 * describes it. Control calls (get, list, delete) time out after 60 s. Create gets 10 min:
 * Freestyle answers it only once the VM runs, and a create that times out may still have made
 * its VM (the backend then finds it by name and deletes it). Exec and file writes are bounded
 * by their own limits only.
 */
import { HttpClient } from "@effect/platform"
import { Duration, Effect, Either, Layer, Option, Schema } from "effect"
import { ConfigError } from "../../domain/errors.js"
import {
  FreestyleApiError, FreestyleApis, type FreestyleApiService, type FreestyleApiSettings, type FreestyleVm
} from "../../ports/FreestyleApi.js"
import { normalizeFreestyleUrl } from "./endpoint.js"
import { type CallSpec, makeCaller } from "./http.js"

const CONTROL_TIMEOUT = Option.some(Duration.seconds(60))
/** longer than any boot: a timed-out create is an ambiguous outcome the backend must recover */
const CREATE_TIMEOUT = Option.some(Duration.minutes(10))
/** what a process exit status can be; anything else is not one */
const MAX_EXIT_STATUS = 255
const CONTROL_BODY_BYTES = 16 * 1024 * 1024
/** exec-await returns the whole output in one JSON body */
const EXEC_BODY_BYTES = 256 * 1024 * 1024
/** how long past the server-side `timeoutMs` the client still waits for the answer */
const EXEC_GRACE = Duration.seconds(30)
const WRITE_TIMEOUT = Option.some(Duration.minutes(15))
const PAGE_SIZE = 100
/** a runaway `totalCount` must not page forever */
const MAX_PAGES = 1000

const NullableString = Schema.optional(Schema.NullOr(Schema.String))

const VmWire = Schema.Struct({ id: Schema.String, name: NullableString, state: NullableString })
const CreateWire = Schema.Struct({ id: Schema.String })
const ListWire = Schema.Struct({ vms: Schema.Array(VmWire), totalCount: Schema.optional(Schema.NullOr(Schema.Number)) })
const ExecWire = Schema.Struct({
  stdout: NullableString,
  stderr: NullableString,
  statusCode: Schema.optional(Schema.NullOr(Schema.Number))
})

const toVm = (wire: typeof VmWire.Type): FreestyleVm => ({
  id: wire.id,
  name: Option.fromNullable(wire.name).pipe(Option.filter((n) => n !== "")),
  state: wire.state ?? "unknown"
})

const encoder = new TextEncoder()

export const connect = (client: HttpClient.HttpClient, settings: FreestyleApiSettings): Effect.Effect<FreestyleApiService, ConfigError> =>
  Effect.gen(function* () {
    const endpoint = yield* Either.match(normalizeFreestyleUrl(settings.apiUrl), {
      onLeft: (message) => Effect.fail(new ConfigError({ source: settings.apiUrlSource, key: "freestyle.apiUrl", message })),
      onRight: Effect.succeed
    })
    const { call } = makeCaller(client, endpoint, settings.key)

    const decode = <A, I>(schema: Schema.Schema<A, I>, spec: CallSpec) =>
      Effect.flatMap(call(spec), ({ json }) => Schema.decodeUnknown(schema)(json).pipe(
        Effect.mapError(() => new FreestyleApiError({
          operation: spec.operation, kind: "decode", message: `freestyle ${spec.operation}: unexpected response shape`
        }))))

    const vmPath = (id: string) => `/v1/vms/${encodeURIComponent(id)}`
    const control = { timeout: CONTROL_TIMEOUT, maxBodyBytes: CONTROL_BODY_BYTES }

    const listVms = Effect.gen(function* () {
      const all: Array<FreestyleVm> = []
      for (let page = 0; page < MAX_PAGES; page++) {
        const got = yield* decode(ListWire, {
          operation: "list vms", method: "GET", path: "/v1/vms",
          query: { limit: String(PAGE_SIZE), offset: String(page * PAGE_SIZE) }, ...control
        })
        all.push(...got.vms.map(toVm))
        const total = got.totalCount ?? undefined
        if (got.vms.length < PAGE_SIZE || (total !== undefined && all.length >= total)) break
      }
      return all
    })

    return {
      endpoint,
      createVm: (request) => {
        const template = {
          ...Option.match(request.vcpus, { onNone: () => ({}), onSome: (n) => ({ vcpuCount: n }) }),
          ...Option.match(request.memoryGB, { onNone: () => ({}), onSome: (n) => ({ memSizeGb: n }) })
        }
        // `ports: []` is sent explicitly: left out, Freestyle exposes guest port 3000 publicly.
        const body = { name: request.name, ports: [], ...(Object.keys(template).length > 0 ? { template } : {}) }
        return decode(CreateWire, { operation: "create vm", method: "POST", path: "/v1/vms", body, ...control, timeout: CREATE_TIMEOUT }).pipe(
          Effect.filterOrFail((vm) => vm.id !== "", () => new FreestyleApiError({
            operation: "create vm", kind: "decode", message: "freestyle create vm returned no id"
          })),
          Effect.map((vm): FreestyleVm => ({ id: vm.id, name: Option.some(request.name), state: "running" })))
      },
      getVm: (id) => decode(VmWire, { operation: "get vm", method: "GET", path: vmPath(id), ...control }).pipe(Effect.map(toVm)),
      listVms,
      deleteVm: (id) => call({ operation: "delete vm", method: "DELETE", path: vmPath(id), ...control }).pipe(
        Effect.asVoid,
        Effect.catchIf((e) => e.kind === "not-found", () => Effect.void)),
      exec: (vmId, request) =>
        decode(ExecWire, {
          operation: "exec", method: "POST", path: `${vmPath(vmId)}/exec-await`,
          body: { command: request.command, ...Option.match(request.timeoutMs, { onNone: () => ({}), onSome: (ms) => ({ timeoutMs: ms }) }) },
          timeout: Option.map(request.timeoutMs, (ms) => Duration.sum(Duration.millis(ms), EXEC_GRACE)),
          maxBodyBytes: EXEC_BODY_BYTES
        }).pipe(Effect.flatMap((r) => {
          // Decoding a missing status as 0 would report a command that never ran as a success.
          if (typeof r.statusCode !== "number") {
            return Effect.fail(new FreestyleApiError({ operation: "exec", kind: "decode", message: "freestyle exec: the response has no status code" }))
          }
          // -1 or 256 is no exit status; passed on, the process would exit with it mod 256 (255, 0).
          if (!Number.isInteger(r.statusCode) || r.statusCode < 0 || r.statusCode > MAX_EXIT_STATUS) {
            return Effect.fail(new FreestyleApiError({
              operation: "exec", kind: "decode",
              message: `freestyle exec: status code ${r.statusCode} is not an exit status (0-${MAX_EXIT_STATUS})`
            }))
          }
          return Effect.succeed({ stdout: encoder.encode(r.stdout ?? ""), stderr: encoder.encode(r.stderr ?? ""), exitCode: r.statusCode })
        })),
      writeFile: (vmId, path, content) =>
        call({
          operation: "write file", method: "PUT",
          // the whole absolute path is one escaped segment (`%2Ftmp%2Fx.tgz`), as the Go client sends it
          path: `${vmPath(vmId)}/files/${encodeURIComponent(path.startsWith("/") ? path : `/${path}`)}`,
          body: { content: Buffer.from(content).toString("base64"), encoding: "base64" },
          timeout: WRITE_TIMEOUT, maxBodyBytes: CONTROL_BODY_BYTES
        }).pipe(Effect.asVoid)
    } satisfies FreestyleApiService
  })

/** The real adapter; needs an HttpClient that does not follow redirects itself (node's does not). */
export const layer: Layer.Layer<FreestyleApis, never, HttpClient.HttpClient> = Layer.effect(
  FreestyleApis,
  Effect.map(HttpClient.HttpClient, (client) => FreestyleApis.of({ connect: (settings) => connect(client, settings) }))
)

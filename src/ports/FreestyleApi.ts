/**
 * Port: the Freestyle v1 VM API (https://api.freestyle.sh/v1): VM lifecycle, exec-await and
 * file writes. Freestyle runs the commands itself, so this is a delegated-run port, not a
 * ComputeApi (no SSH). The adapter validates the endpoint, adds the bearer key, refuses
 * cross-origin redirects and redacts the key from every error.
 */
import type { Effect, Option, Redacted } from "effect"
import { Context, Schema } from "effect"
import type { ConfigError } from "../domain/errors.js"

export type FreestyleOperation = "create vm" | "get vm" | "list vms" | "delete vm" | "exec" | "write file"

/**
 * A call failed. `code` is Freestyle's stable error code (`EXEC_TIMED_OUT`,
 * `CUSTOM_SIZING_NOT_ALLOWED`, `VM_DELETED`) when the body carried one. Never holds the key.
 */
export class FreestyleApiError extends Schema.TaggedError<FreestyleApiError>()("FreestyleApiError", {
  operation: Schema.Literal("create vm", "get vm", "list vms", "delete vm", "exec", "write file"),
  kind: Schema.Literal(
    "auth", "permission", "not-found", "timeout", "rate-limited", "validation", "server",
    "transport", "decode", "redirect", "too-large", "http"
  ),
  message: Schema.String,
  status: Schema.optional(Schema.Number),
  code: Schema.optional(Schema.String)
}) {}

/** `state` is Freestyle's word: building, starting, running, suspending, suspended, stopped, lost. */
export interface FreestyleVm {
  readonly id: string
  readonly name: Option.Option<string>
  readonly state: string
}

export interface CreateVmRequest {
  readonly name: string
  /** `template.vcpuCount` / `template.memSizeGb`; both None sends no template (plan defaults) */
  readonly vcpus: Option.Option<number>
  readonly memoryGB: Option.Option<number>
}

export interface ExecRequest {
  /** one shell string; the caller wraps it (`bash -lc '...'`) */
  readonly command: string
  /** server-side limit (`timeoutMs`); the adapter also gives up a little after it */
  readonly timeoutMs: Option.Option<number>
}

export interface ExecResult {
  readonly stdout: Uint8Array
  readonly stderr: Uint8Array
  /** the exit status, 0-255; a response without one, or with another number, is an error, never success */
  readonly exitCode: number
}

export interface FreestyleApiService {
  /** normalized base URL (claims are scoped by it) */
  readonly endpoint: string
  /**
   * creates with `ports: []`: nothing on the VM is exposed publicly. A `timeout`, `transport`
   * or 5xx failure does not prove that no VM was made: the caller finds it by its name.
   */
  readonly createVm: (request: CreateVmRequest) => Effect.Effect<FreestyleVm, FreestyleApiError>
  /** a deleted VM is a `not-found` error (404, or Freestyle's `VM_DELETED`) */
  readonly getVm: (id: string) => Effect.Effect<FreestyleVm, FreestyleApiError>
  /** every page */
  readonly listVms: Effect.Effect<ReadonlyArray<FreestyleVm>, FreestyleApiError>
  /** already gone (404) counts as deleted */
  readonly deleteVm: (id: string) => Effect.Effect<void, FreestyleApiError>
  readonly exec: (vmId: string, request: ExecRequest) => Effect.Effect<ExecResult, FreestyleApiError>
  /** write `content` to an absolute path on the VM (sent base64-encoded) */
  readonly writeFile: (vmId: string, path: string, content: Uint8Array) => Effect.Effect<void, FreestyleApiError>
}

export interface FreestyleApiSettings {
  /** base URL as configured; the adapter validates and normalizes it */
  readonly apiUrl: string
  /** where `apiUrl` came from (`default`, `env FREESTYLE_API_URL`, a file), for its ConfigError */
  readonly apiUrlSource: string
  readonly key: Redacted.Redacted<string>
}

/**
 * Builds a client from settings known only after config is loaded. The composition root
 * provides the HTTP adapter; tests point it at a local server.
 */
export class FreestyleApis extends Context.Tag("crabbox/FreestyleApis")<FreestyleApis, {
  readonly connect: (settings: FreestyleApiSettings) => Effect.Effect<FreestyleApiService, ConfigError>
}>() {}

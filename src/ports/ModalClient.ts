/**
 * Port: Modal Sandboxes, as the local Modal Python client exposes them. Sandboxes are
 * identified by Modal's id; ownership is carried by the tags crabbox sets at create.
 */
import type { Effect, Option, Sink } from "effect"
import { Context, Schema } from "effect"

export interface ModalSandbox {
  readonly id: string
  /** `running` while it runs, `finished` once it exited, timed out or was terminated */
  readonly status: string
  readonly tags: Readonly<Record<string, string>>
}

export interface CreateSandboxRequest {
  readonly app: string
  /** a registry image reference (`python:3.13-slim`) */
  readonly image: string
  /** absolute directory the sandbox starts in */
  readonly workdir: string
  /** the sandbox's whole lifetime; Modal ends it after this */
  readonly timeoutSeconds: number
  readonly tags: Readonly<Record<string, string>>
}

export interface ExecRequest {
  readonly sandboxId: string
  /** the process argv in the sandbox; it travels to the client on stdin, never on a local argv */
  readonly argv: ReadonlyArray<string>
  readonly timeoutSeconds: number
  /** the remote process's output, as raw bytes while it arrives */
  readonly stdout: Sink.Sink<void, Uint8Array>
  readonly stderr: Sink.Sink<void, Uint8Array>
}

/** How a remote process ended: its exit status, or Modal's exec deadline. */
export type ExecOutcome =
  | { readonly _tag: "Exited"; readonly code: number }
  | { readonly _tag: "TimedOut" }

export interface UploadRequest {
  readonly sandboxId: string
  /** absolute path in the sandbox; parents are created, an existing file is replaced */
  readonly remotePath: string
  readonly content: Uint8Array
}

/**
 * missing-client: the Python or its `modal` package cannot be run;
 * auth: Modal refused the credentials (the client raised its AuthError);
 * not-found: Modal knows no sandbox of the requested id, and nothing else (a failure that
 * only mentions "not found" or 404 is transport);
 * transport: any other client or RPC failure; protocol: the helper answered nonsense.
 */
export class ModalClientError extends Schema.TaggedError<ModalClientError>()("ModalClientError", {
  operation: Schema.Literal("create", "get", "list", "upload", "exec", "terminate"),
  kind: Schema.Literal("missing-client", "auth", "not-found", "transport", "protocol"),
  message: Schema.String,
  /** a sandbox the failed call made but could not hand back (create: it could not be tagged); it may still run */
  sandboxId: Schema.optional(Schema.String)
}) {}

export interface ModalClient {
  readonly create: (request: CreateSandboxRequest) => Effect.Effect<ModalSandbox, ModalClientError>
  /** None when Modal does not know the id */
  readonly get: (sandboxId: string) => Effect.Effect<Option.Option<ModalSandbox>, ModalClientError>
  /** Running sandboxes of the app carrying at least these tags (finished ones are not listed). A missing app lists nothing. */
  readonly list: (query: { readonly app: string; readonly tags: Readonly<Record<string, string>> }) => Effect.Effect<ReadonlyArray<ModalSandbox>, ModalClientError>
  readonly upload: (request: UploadRequest) => Effect.Effect<void, ModalClientError>
  /** Run a process and stream its output; a remote failure is an outcome, not an error. No exit status is an error. */
  readonly exec: (request: ExecRequest) => Effect.Effect<ExecOutcome, ModalClientError>
  /** A no-op for a sandbox that already finished; not-found only when Modal knows no sandbox of that id. */
  readonly terminate: (sandboxId: string) => Effect.Effect<void, ModalClientError>
}

export interface ModalClientSettings {
  /** the local Python that has the `modal` package (`modal.python`) */
  readonly python: string
}

/**
 * Builds a ModalClient once config is known. Credentials are the client's own business:
 * `MODAL_TOKEN_ID`/`MODAL_TOKEN_SECRET` reach it through the inherited environment, or
 * it reads `~/.modal.toml`; crabbox never sees or passes a token.
 */
export class ModalClients extends Context.Tag("crabbox/ModalClients")<ModalClients, {
  readonly make: (settings: ModalClientSettings) => ModalClient
}>() {}

/**
 * A real node:http server on 127.0.0.1 (port 0) standing in for fal in integration tests:
 * it records every request it receives and answers through a handler the test supplies.
 */
import { Effect } from "effect"
import type { Scope } from "effect"
import { createServer, type IncomingHttpHeaders, type ServerResponse } from "node:http"

export interface RecordedRequest {
  readonly method: string
  /** path and query as received, e.g. `/v1/compute/instances?limit=100` */
  readonly url: string
  readonly headers: IncomingHttpHeaders
  readonly body: string
}

export type Handler = (request: RecordedRequest, response: ServerResponse, index: number) => void

export interface FalTestServer {
  /** `http://127.0.0.1:<port>` */
  readonly origin: string
  /** every request so far, in arrival order */
  readonly requests: () => ReadonlyArray<RecordedRequest>
}

export const startServer = (handler: Handler): Effect.Effect<FalTestServer, never, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.async<{ server: ReturnType<typeof createServer>; origin: string; seen: Array<RecordedRequest> }>((resume) => {
      const seen: Array<RecordedRequest> = []
      const server = createServer((req, res) => {
        const chunks: Array<Buffer> = []
        req.on("data", (chunk: Buffer) => chunks.push(chunk))
        req.on("end", () => {
          const recorded = { method: req.method ?? "", url: req.url ?? "", headers: req.headers, body: Buffer.concat(chunks).toString("utf8") }
          seen.push(recorded)
          handler(recorded, res, seen.length - 1)
        })
      })
      server.listen(0, "127.0.0.1", () => {
        const address = server.address()
        const port = typeof address === "object" && address !== null ? address.port : 0
        resume(Effect.succeed({ server, origin: `http://127.0.0.1:${port}`, seen }))
      })
    }),
    ({ server }) => Effect.async<void>((resume) => {
      server.closeAllConnections()
      server.close(() => resume(Effect.void))
    })
  ).pipe(Effect.map(({ origin, seen }) => ({ origin, requests: () => [...seen] })))

export const sendJson = (res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void => {
  res.writeHead(status, { "content-type": "application/json", ...headers })
  res.end(JSON.stringify(body))
}

export const sendError = (
  res: ServerResponse,
  status: number,
  error: { type: string; message: string; request_id?: string; docs_url?: string },
  headers: Record<string, string> = {}
): void => sendJson(res, status, { error }, headers)

export const instance = (fields: Record<string, unknown> = {}) => ({
  id: "inst_abc123xyz",
  instance_type: "gpu_1x_h100_sxm5",
  region: "us-west",
  status: "provisioning",
  ...fields
})

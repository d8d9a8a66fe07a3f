/**
 * The emulator's HTTP server on 127.0.0.1: the `/v1` API and the `/_emulator` admin routes.
 * Anything else, and any failure of a route, still answers with fal's error envelope.
 */
import { type HttpRouter, HttpServerError } from "@effect/platform"
import { NodeHttpServer } from "@effect/platform-node"
import { Effect, type Scope } from "effect"
import { createServer, type Server } from "node:http"
import { errorResponse } from "./errorEnvelope.js"

export const serveHttp = <E>(
  router: HttpRouter.HttpRouter<E, never>,
  port: number
): Effect.Effect<{ readonly port: number }, HttpServerError.ServeError, Scope.Scope> =>
  Effect.gen(function* () {
    let node: Server | undefined
    const server = yield* NodeHttpServer.make(() => (node = createServer()), { host: "127.0.0.1", port })
    // Keep-alive connections would hold the close; registered after `make`, so this runs first.
    yield* Effect.addFinalizer(() => Effect.sync(() => node?.closeAllConnections()))
    const app = router.pipe(
      Effect.catchTag("RouteNotFound", () => Effect.map(errorResponse(404, "Resource not found"), (e) => e.response)),
      Effect.catchAllCause(() => Effect.map(errorResponse(500, "Internal server error"), (e) => e.response)))
    yield* server.serve(app)
    return { port: server.address._tag === "TcpAddress" ? server.address.port : port }
  })

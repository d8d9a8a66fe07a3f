/**
 * The `freestyle` provider's backend: VMs created through Freestyle's v1 API, leased as
 * `fsb_<vm id>`, claimed in the same ClaimStore as every other lease. Commands run through
 * exec-await (no SSH); the workspace arrives as an archive (sync.ts).
 */
import { Effect, Option } from "effect"
import { Stdio } from "../../../ports/Stdio.js"
import { runOnFreshLease } from "../../workflows/delegatedLease.js"
import type { DelegatedRunBackend } from "../backend.js"
import { type FreestyleBackendSettings, makeFreestyleContext } from "./context.js"
import { freestyleWarmup } from "./create.js"
import { freestyleDoctor } from "./doctor.js"
import { freestyleLeases } from "./leases.js"
import { freestyleRunExisting } from "./run.js"
import { DEFAULT_API_URL } from "./settings.js"
import { freestyleSpec } from "./spec.js"
import { MAX_ARCHIVE_BYTES } from "./sync.js"

export type { FreestyleBackendSettings } from "./context.js"

export const makeFreestyleBackend = (settings: FreestyleBackendSettings) =>
  Effect.gen(function* () {
    const ctx = yield* makeFreestyleContext(settings)
    const { stdio, connected, api } = ctx
    const warmup = freestyleWarmup(ctx)
    const runExisting = freestyleRunExisting(ctx)
    const { list, status, stop } = freestyleLeases(ctx)

    const backend: DelegatedRunBackend = {
      kind: "delegated-run",
      spec: freestyleSpec,
      selectorFlags: Option.match(connected, {
        onNone: () => [],
        onSome: (a) => (a.endpoint === DEFAULT_API_URL ? [] : ["--freestyle-api-url", a.endpoint])
      }),
      archiveLimitBytes: MAX_ARCHIVE_BYTES,
      warmup,
      run: (req) => req.lease._tag === "New"
        ? runOnFreshLease(backend, { ...req, lease: req.lease }).pipe(Effect.provideService(Stdio, stdio))
        : runExisting(req, req.lease.resolve),
      list,
      status,
      stop,
      doctor: freestyleDoctor(api)
    }
    return backend
  })


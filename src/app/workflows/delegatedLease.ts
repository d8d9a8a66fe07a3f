/**
 * The life of a fresh delegated lease, the same for every delegated provider: warm it up,
 * use it, then stop it unless it is kept. However the use ends (success, failure, Ctrl-C),
 * the keep-or-stop decision runs once, detached from an interrupted fiber.
 */
import { Effect, Exit, Option, Ref } from "effect"
import { describeError } from "../../domain/errorMessage.js"
import { type CrabboxError, LeaseCleanupFailed } from "../../domain/errors.js"
import type { LeaseView } from "../../domain/leaseView.js"
import { shellQuote } from "../../domain/shellQuote.js"
import { Stdio } from "../../ports/Stdio.js"
import { runDetached } from "../leases/detached.js"
import type { AcquireRequest, DelegatedRunBackend, DelegatedRunRequest, DelegatedRunResult } from "../providers/backend.js"

/** `crabbox stop --provider p [selector flags] <slug>`, pasteable. */
export const delegatedStopCommand = (backend: DelegatedRunBackend, slug: string): string =>
  ["crabbox stop", `--provider ${backend.spec.name}`, ...(backend.selectorFlags ?? []).map((w) => (w.startsWith("--") ? w : shellQuote(w))), slug].join(" ")

export interface FreshLeaseOutcome {
  readonly result: DelegatedRunResult
  /** the stop after use failed; the claim is kept for a later `crabbox stop` */
  readonly releaseError: Option.Option<CrabboxError>
}

/**
 * Warm up a lease, run `use` on it, then stop it unless `keep`, or `keepOnFailure` and the
 * use failed (an error, or a non-zero exit code). Progress lines go to stderr.
 */
export const withFreshLease = (
  backend: DelegatedRunBackend,
  acquire: AcquireRequest,
  policy: { readonly keep: boolean; readonly keepOnFailure: boolean },
  use: (lease: LeaseView) => Effect.Effect<DelegatedRunResult, CrabboxError>
): Effect.Effect<FreshLeaseOutcome, CrabboxError, Stdio> =>
  Effect.gen(function* () {
    const stdio = yield* Stdio
    const releaseError = yield* Ref.make(Option.none<CrabboxError>())
    const released = yield* Ref.make(false)

    const finish = (lease: LeaseView, exit: Exit.Exit<DelegatedRunResult, CrabboxError>) => {
      const failed = Exit.isFailure(exit) || exit.value.exitCode !== 0
      if (policy.keep || (policy.keepOnFailure && failed)) {
        return stdio.err(`lease kept lease=${lease.leaseId} slug=${lease.slug}; stop: ${delegatedStopCommand(backend, lease.slug)}`)
      }
      return backend.stop({ id: lease.leaseId, repoRoot: acquire.repoRoot, reclaim: false, readOnly: true }).pipe(
        Effect.zipRight(Ref.set(released, true)),
        Effect.zipRight(stdio.err(`lease cleanup stopped=true policy=auto lease=${lease.leaseId} slug=${lease.slug}`)),
        Effect.catchAll((e) => Ref.set(releaseError, Option.some<CrabboxError>(e)).pipe(
          Effect.zipRight(stdio.err(`crabbox: ${describeError(e)}; the claim is kept: ${delegatedStopCommand(backend, lease.slug)}`))))
      )
    }

    // The warmup stays interruptible (a backend rolls back its own half-made create); the
    // use is interruptible; the decision after it is not.
    const result = yield* Effect.uninterruptibleMask((restore) =>
      Effect.gen(function* () {
        const lease = yield* restore(backend.warmup(acquire))
        yield* stdio.err(`leased ${lease.leaseId} slug=${lease.slug} provider=${lease.provider} server=${lease.cloudId ?? "-"}`)
        const exit = yield* Effect.exit(restore(use(lease)))
        yield* runDetached(finish(lease, exit))
        return yield* exit
      })
    )
    return { result: { ...result, released: yield* Ref.get(released) }, releaseError: yield* Ref.get(releaseError) }
  })

/**
 * `backend.run` with a `New` lease, for backends that implement it over their own
 * warmup, run (Existing) and stop. A failed stop after a successful command is an error.
 */
export const runOnFreshLease = (
  backend: DelegatedRunBackend,
  request: DelegatedRunRequest & { readonly lease: { readonly _tag: "New"; readonly acquire: AcquireRequest } }
): Effect.Effect<DelegatedRunResult, CrabboxError, Stdio> =>
  withFreshLease(backend, request.lease.acquire, { keep: request.lease.acquire.keep, keepOnFailure: request.keepOnFailure }, (lease) =>
    backend.run({
      ...request,
      lease: { _tag: "Existing", resolve: { id: lease.leaseId, repoRoot: request.lease.acquire.repoRoot, reclaim: false } }
    })
  ).pipe(Effect.flatMap(({ releaseError, result }) =>
    Option.isSome(releaseError) && result.exitCode === 0
      ? Effect.fail(releaseError.value._tag === "LeaseCleanupFailed"
        ? releaseError.value
        : new LeaseCleanupFailed({ leaseId: result.lease.leaseId, message: describeError(releaseError.value) }))
      : Effect.succeed(result)))

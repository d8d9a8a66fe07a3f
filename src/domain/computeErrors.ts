/**
 * How a failed create is read. A definitive failure proves nothing was created (the
 * request was refused before it did anything); an ambiguous one may have created an
 * instance whose response was lost, so the claim must stay until a replay (same key,
 * same request) learns the id or proves there is none.
 */
import type { ComputeApiError } from "./errors.js"

const AMBIGUOUS_KINDS: ReadonlySet<ComputeApiError["kind"]> = new Set([
  "server", "timeout", "transport", "decode", "conflict", "redirect", "too-large"
])

export const isAmbiguousCreateFailure = (e: ComputeApiError): boolean =>
  AMBIGUOUS_KINDS.has(e.kind) || e.status === 408 || e.status === 409 || (e.status !== undefined && e.status >= 500)

export const isNotFound = (e: ComputeApiError): boolean => e.kind === "not-found"

/**
 * Lease identifiers: `cbx_` + 12 lowercase hex (6 random bytes), or `fsb_` + a Freestyle VM
 * id (that provider's leases are named after the VM it creates). They are file names too,
 * so neither form can hold a separator or a dot.
 */
import { Effect, Random, Schema } from "effect"

export const LeaseIdPattern = /^(?:cbx_[a-f0-9]{12}|fsb_[A-Za-z0-9][A-Za-z0-9_-]{0,63})$/

export const LeaseId = Schema.String.pipe(Schema.pattern(LeaseIdPattern), Schema.brand("LeaseId"))
export type LeaseId = typeof LeaseId.Type

export const isLeaseId = Schema.is(LeaseId)

/** A fresh lease id from Effect's `Random`, so tests can seed it. */
export const newLeaseId: Effect.Effect<LeaseId> = Effect.gen(function* () {
  let hex = ""
  for (let i = 0; i < 6; i++) {
    const byte = yield* Random.nextIntBetween(0, 256)
    hex += byte.toString(16).padStart(2, "0")
  }
  return LeaseId.make(`cbx_${hex}`)
})

/**
 * The one normalized view of a lease, the same for every provider: `list --json` is an
 * array of these, `status --json` one StatusView. Stable camelCase keys.
 */
import { Schema } from "effect"

export const LeaseView = Schema.Struct({
  leaseId: Schema.String,
  slug: Schema.String,
  provider: Schema.String,
  /** the provider's id for the resource (instance id, host) */
  cloudId: Schema.NullOr(Schema.String),
  /** claim state or live provider status */
  status: Schema.String,
  serverType: Schema.NullOr(Schema.String),
  host: Schema.NullOr(Schema.String),
  keep: Schema.Boolean,
  target: Schema.String,
  repoRoot: Schema.String,
  createdAt: Schema.String,
  lastUsedAt: Schema.String,
  /** min(lastUsedAt + idle timeout, createdAt + ttl), RFC 3339 */
  expiresAt: Schema.String,
  labels: Schema.Record({ key: Schema.String, value: Schema.String })
})
export type LeaseView = typeof LeaseView.Type

export const StatusView = Schema.Struct({
  ...LeaseView.fields,
  ready: Schema.Boolean,
  hasHost: Schema.Boolean,
  sshHost: Schema.NullOr(Schema.String),
  sshPort: Schema.NullOr(Schema.Number),
  sshUser: Schema.NullOr(Schema.String),
  sshKey: Schema.NullOr(Schema.String),
  workdir: Schema.NullOr(Schema.String),
  idleForSeconds: Schema.Number,
  idleTimeoutSeconds: Schema.Number,
  ttlSeconds: Schema.Number
})
export type StatusView = typeof StatusView.Type

/** fal's instance record as the provider-neutral `ComputeInstance`. */
import { Option } from "effect"
import type { ComputeInstance, InstanceStatus } from "../../ports/ComputeApi.js"
import type { FalInstance } from "./falWire.js"

/**
 * Exact, case-sensitive match on fal's enum, as the Go client does: `Ready` or ` ready`
 * is not something we know, so it is `unrecognized` (readiness fails, lists show it).
 */
const STATUSES: Readonly<Record<string, InstanceStatus>> = {
  init: "provisioning",
  pending: "provisioning",
  provisioning: "provisioning",
  unknown: "provisioning",
  ready: "ready",
  stopped: "terminated"
}

export const toInstanceStatus = (raw: string): InstanceStatus =>
  Object.hasOwn(STATUSES, raw) ? STATUSES[raw]! : "unrecognized"

const nonEmpty = (value: Option.Option<string>): Option.Option<string> =>
  Option.filter(value, (s) => s.trim() !== "")

export const toComputeInstance = (wire: FalInstance): ComputeInstance => ({
  id: wire.id,
  instanceType: wire.instance_type,
  status: toInstanceStatus(wire.status),
  rawStatus: wire.status,
  region: nonEmpty(wire.region),
  host: nonEmpty(wire.ip)
})

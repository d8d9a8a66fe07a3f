/**
 * One emulated Compute instance and how fal shows it. Status is not stored: it follows from
 * the Clock (`readyAt`, `stoppedAt`), so a test's TestClock moves instances along.
 */
import type { AuthorizedKey } from "../../adapters/ssh2/localServer/keys.js"
import type { FalEmulatedInstance } from "../../app/cli/falEmulator.js"

export const INSTANCE_TYPES = ["gpu_8x_h100_sxm5", "gpu_1x_h100_sxm5"] as const
export type InstanceType = (typeof INSTANCE_TYPES)[number]

export const SECTORS = ["sector_1", "sector_2", "sector_3"] as const
export type Sector = (typeof SECTORS)[number]

/** The only type a sector may come with (InfiniBand placement). */
export const SECTOR_TYPE: InstanceType = "gpu_8x_h100_sxm5"

export type InstanceStatus = "provisioning" | "ready" | "stopped"

export interface InstanceRecord {
  readonly id: string
  readonly instanceType: InstanceType
  readonly sector?: Sector
  readonly region: string
  readonly nickname: string
  /** the create request's key; undefined when it is not a key ssh2 reads (then no login works) */
  readonly sshKey: AuthorizedKey | undefined
  /** the real directory behind the instance's `/home/ubuntu` */
  readonly home: string
  readonly createdAt: number
  /** undefined: never ready (the never-ready fault) */
  readonly readyAt: number | undefined
  /** undefined: never stopped */
  readonly stoppedAt: number | undefined
  readonly deletedAt: number | undefined
}

export const statusAt = (instance: InstanceRecord, now: number): InstanceStatus => {
  const at = instance.deletedAt === undefined ? now : Math.min(now, instance.deletedAt)
  if (instance.stoppedAt !== undefined && at >= instance.stoppedAt) return "stopped"
  if (instance.readyAt !== undefined && at >= instance.readyAt) return "ready"
  return "provisioning"
}

/** SSH logins are accepted only for a live instance that is ready now. */
export const acceptsLogins = (instance: InstanceRecord, now: number): boolean =>
  instance.deletedAt === undefined && statusAt(instance, now) === "ready"

/** fal's `ComputeInstance`: `ip` only once ready; the SSH key is never echoed. */
export const toApiJson = (instance: InstanceRecord, now: number) => {
  const status = statusAt(instance, now)
  return {
    id: instance.id,
    instance_type: instance.instanceType,
    region: instance.region,
    status,
    ...(instance.sector === undefined ? {} : { sector: instance.sector }),
    ...(status === "ready" ? { ip: "127.0.0.1" } : {}),
    creator_user_nickname: instance.nickname
  }
}

export const toView = (instance: InstanceRecord, now: number): FalEmulatedInstance => ({
  id: instance.id,
  instanceType: instance.instanceType,
  region: instance.region,
  ...(instance.sector === undefined ? {} : { sector: instance.sector }),
  status: statusAt(instance, now),
  deleted: instance.deletedAt !== undefined,
  createdAt: instance.createdAt,
  ...(instance.deletedAt === undefined ? {} : { deletedAt: instance.deletedAt }),
  home: instance.home
})

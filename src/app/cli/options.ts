/**
 * Options shared by the lease commands: provider selection, the core settings and every
 * provider's own flags (declared up front, applied only when that provider is selected).
 */
import { Options } from "@effect/cli"
import { Option } from "effect"
import type { FlagValues } from "../config/flagLayer.js"

const text = (name: string, description: string) =>
  Options.text(name).pipe(Options.withDescription(description), Options.optional)

export const providerOptions = {
  provider: text("provider", "provider name or alias (see `crabbox providers`); default from config, else ssh"),
  target: text("target", "target OS (linux)"),
  workRoot: text("work-root", "remote directory holding lease workdirs (absolute)"),
  sshHost: text("ssh-host", "ssh provider: host to claim"),
  sshPort: text("ssh-port", "SSH port (every SSH-lease provider)"),
  sshUser: text("ssh-user", "SSH user"),
  sshKey: text("ssh-key", "ssh provider: path of the private key the host authorizes"),
  sshWorkRoot: text("ssh-work-root", "ssh provider: remote work root (absolute)"),
  falApiUrl: text("fal-api-url", "fal: Compute API base URL (https; http only to loopback)"),
  falInstanceType: text("fal-instance-type", "fal: gpu_1x_h100_sxm5 (1xH100-SXM) or gpu_8x_h100_sxm5 (8xH100-SXM); --type wins"),
  falSector: text("fal-sector", "fal: sector_1..3, only with the 8x type"),
  falUser: text("fal-user", "fal: SSH user (default ubuntu)"),
  falWorkRoot: text("fal-work-root", "fal: remote work root (default /home/ubuntu/crabbox)"),
  freestyleApiUrl: text("freestyle-api-url", "freestyle: API base URL"),
  freestyleWorkdir: text("freestyle-workdir", "freestyle: workdir below /workspace (relative)"),
  freestyleVcpus: text("freestyle-vcpus", "freestyle: vCPUs (power of two)"),
  freestyleMemoryGb: text("freestyle-memory-gb", "freestyle: memory in GB (power of two)"),
  modalApp: text("modal-app", "modal: app name"),
  modalImage: text("modal-image", "modal: container image"),
  modalWorkdir: text("modal-workdir", "modal: absolute workdir in the sandbox"),
  modalPython: text("modal-python", "modal: local python that has the modal package")
}

export const leaseOptions = {
  ttl: text("ttl", "maximum lease lifetime, e.g. 90m or 1h30m"),
  idleTimeout: text("idle-timeout", "idle time after which cleanup may end the lease, e.g. 30m"),
  slug: text("slug", "friendly name for a new lease"),
  type: text("type", "machine type (provider-specific)")
}

export const json = Options.boolean("json").pipe(Options.withDescription("print one JSON document on stdout"))

export type ProviderOptionValues = {
  readonly [K in keyof typeof providerOptions]: Option.Option<string>
}

/** The flag values the config loader understands (typed by its flag table, so a misspelt name fails to compile). */
export const flagRecord = (
  p: ProviderOptionValues,
  extra: { readonly ttl?: Option.Option<string>; readonly idleTimeout?: Option.Option<string>; readonly allowEnv?: ReadonlyArray<string>; readonly forceSyncLarge?: boolean } = {}
): FlagValues => {
  const get = (value: Option.Option<string> | undefined) => (value === undefined ? undefined : Option.getOrUndefined(value))
  return {
    provider: get(p.provider),
    target: get(p.target),
    workRoot: get(p.workRoot),
    "ssh-host": get(p.sshHost),
    "ssh-port": get(p.sshPort),
    "ssh-user": get(p.sshUser),
    "ssh-key": get(p.sshKey),
    "ssh-work-root": get(p.sshWorkRoot),
    "fal-api-url": get(p.falApiUrl),
    "fal-instance-type": get(p.falInstanceType),
    "fal-sector": get(p.falSector),
    "fal-user": get(p.falUser),
    "fal-work-root": get(p.falWorkRoot),
    "freestyle-api-url": get(p.freestyleApiUrl),
    "freestyle-workdir": get(p.freestyleWorkdir),
    "freestyle-vcpus": get(p.freestyleVcpus),
    "freestyle-memory-gb": get(p.freestyleMemoryGb),
    "modal-app": get(p.modalApp),
    "modal-image": get(p.modalImage),
    "modal-workdir": get(p.modalWorkdir),
    "modal-python": get(p.modalPython),
    ttl: get(extra.ttl),
    idleTimeout: get(extra.idleTimeout),
    "allow-env": extra.allowEnv,
    "force-sync-large": extra.forceSyncLarge
  }
}

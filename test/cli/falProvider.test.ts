/**
 * The fal provider through the real CLI against the fal Compute emulator (real HTTP, real
 * SSH on 127.0.0.1): the seed's acceptance criteria, injected faults ending with nothing
 * left that no claim records, the request shapes fal sees, and a canary key that must
 * never show up in any output or file.
 */
import { spawn, spawnSync } from "node:child_process"
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs"
import { join } from "node:path"
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest"
import { crabboxBin, isolatedEnv, makeRepo, runCrabbox, type CliResult } from "../support/cli.js"
import { startEmulatorProcess, type EmulatorProcess } from "../support/falEmulatorProcess.js"

const CANARY = "fal-canary-7d1e4b9a2c5f8e03"

const filesUnder = (dir: string): Array<string> =>
  !existsSync(dir) ? [] : readdirSync(dir).flatMap((name) => {
    const path = join(dir, name)
    return statSync(path).isDirectory() ? filesUnder(path) : [path]
  })

describe("fal provider (CLI against the emulator)", () => {
  let emulator: EmulatorProcess
  let repo: string
  let env: Record<string, string>
  const seen: Array<CliResult> = []

  const crabbox = async (args: ReadonlyArray<string>, extra: Record<string, string> = {}) => {
    const r = await runCrabbox(args, { cwd: repo, env: { ...env, ...extra }, timeoutMs: 90_000 })
    seen.push(r)
    return r
  }
  const claims = () => {
    const dir = join(env.CRABBOX_STATE_DIR!, "claims")
    return filesUnder(dir).filter((f) => f.endsWith(".json")).map((f) => JSON.parse(readFileSync(f, "utf8")) as {
      leaseId: string; slug: string; cloudId?: string; state: string; labels: Record<string, string>
    })
  }
  /** live instances that no local claim records (foreign ones excluded by id) */
  const residue = async (foreign: ReadonlyArray<string> = []) => {
    const recorded = new Set(claims().map((c) => c.cloudId))
    return (await emulator.instances()).filter((i) => !i.deleted && !recorded.has(i.id) && !foreign.includes(i.id)).map((i) => i.id)
  }

  beforeAll(async () => {
    emulator = await startEmulatorProcess(["--ready-delay", "300ms"])
    repo = makeRepo({ "README.md": "# fal demo\n", "job.sh": "echo job ran in $(basename \"$PWD\")\n" })
    env = isolatedEnv({
      CRABBOX_PROVIDER: "fal",
      CRABBOX_FAL_API_URL: emulator.apiUrl,
      CRABBOX_SSH_PORT: String(emulator.sshPort),
      FAL_KEY: CANARY
    })
  }, 60_000)
  afterAll(async () => { await emulator?.stop() })
  beforeEach(async () => { await emulator.setFaults([]) })

  it("providers lists fal as an SSH lease with its features", async () => {
    const r = await crabbox(["providers", "--json"])
    expect(r.code).toBe(0)
    const fal = (JSON.parse(r.stdout) as Array<{ provider: string; kind: string; features: Array<string>; aliases: Array<string> }>).find((p) => p.provider === "fal")
    expect(fal).toMatchObject({ kind: "ssh-lease", aliases: ["fal-ai"], features: ["ssh", "crabbox-sync", "cleanup"] })
  })

  it("doctor only reads: every request is a GET and no claim appears", async () => {
    const before = (await emulator.requests()).length
    const r = await crabbox(["doctor"])
    expect(r.code).toBe(0)
    expect(r.stdout + r.stderr).toMatch(/instances=\d+ fingerprint=[0-9a-f]+ mutation=false/)
    const made = (await emulator.requests()).slice(before)
    expect(made.length).toBeGreaterThan(0)
    expect(made.every((q) => q.method === "GET")).toBe(true)
    expect(claims()).toEqual([])
  })

  it("run executes over crabbox-managed SSH, passes the exit code and deletes the instance", async () => {
    const r = await crabbox(["run", "--", "sh", "-c", "cat README.md; sh job.sh; exit 4"])
    expect(r.code).toBe(4)
    expect(r.stdout).toContain("# fal demo")
    expect(r.stdout).toMatch(/job ran in \S+/)
    expect(r.stderr).toMatch(/provisioned lease=cbx_[0-9a-f]{12} fal=\S+ state=ready/)
    expect(claims()).toEqual([])
    expect((await emulator.instances()).filter((i) => !i.deleted)).toEqual([])
  }, 90_000)

  it("warmup --keep gives a reusable lease: run --id, status, list, ssh, then stop deletes and forgets", async () => {
    expect((await crabbox(["warmup", "--keep", "--slug", "fal-h100"])).code).toBe(0)
    const [claim] = claims()
    expect(claim).toMatchObject({ slug: "fal-h100", state: "ready" })
    const first = await crabbox(["run", "--id", "fal-h100", "--", "sh", "-c", "echo one > marker; cat README.md"])
    expect(first.code).toBe(0)
    const again = await crabbox(["run", "--id", claim!.cloudId!, "--", "cat", "marker"])
    expect(again.stdout.trim()).toBe("one")
    const status = await crabbox(["status", "fal-h100", "--json"])
    expect(JSON.parse(status.stdout)).toMatchObject({ slug: "fal-h100", cloudId: claim!.cloudId, ready: true, sshUser: "ubuntu" })
    const list = await crabbox(["list", "--json"])
    const views = JSON.parse(list.stdout) as Array<{ slug: string; status: string; labels: Record<string, string> }>
    expect(views.map((v) => [v.slug, v.status])).toEqual([["fal-h100", "ready"]])
    expect(list.stdout).not.toMatch(/credential|binding/)
    const pty = spawnSync("script", ["-qec", `${process.execPath} ${crabboxBin} ssh fal-h100`, "/dev/null"], {
      cwd: repo, env: { PATH: process.env.PATH ?? "", ...env }, input: "tty -s && echo on-a-tty; cat crabbox/*/*/marker; exit 3\n", timeout: 30_000
    })
    expect(pty.stdout.toString()).toContain("on-a-tty")
    expect(pty.status).toBe(3)
    const stop = await crabbox(["stop", "fal-h100"])
    expect(stop.code).toBe(0)
    expect(claims()).toEqual([])
    expect((await emulator.instances()).find((i) => i.id === claim!.cloudId)?.deleted).toBe(true)
    expect(existsSync(join(env.CRABBOX_STATE_DIR!, "keys", claim!.leaseId))).toBe(false)
  }, 120_000)

  it("a failed acquire rolls back; with --keep the instance and claim stay until stop", async () => {
    await emulator.setFaults(["stopped"])
    const failed = await crabbox(["run", "--", "true"])
    expect(failed.code).toBe(5)
    expect(failed.stderr).toMatch(/rolled back lease=/)
    expect(claims()).toEqual([])
    expect(await residue()).toEqual([])
    expect((await emulator.instances()).filter((i) => !i.deleted)).toEqual([])

    const kept = await crabbox(["warmup", "--keep", "--slug", "kept-broken"])
    expect(kept.code).toBe(5)
    expect(kept.stderr).toMatch(/kept lease=.* after a failed acquire/)
    expect(claims().map((c) => c.slug)).toEqual(["kept-broken"])
    expect((await emulator.instances()).filter((i) => !i.deleted)).toHaveLength(1)
    expect((await crabbox(["stop", "kept-broken"])).code).toBe(0)
    expect((await emulator.instances()).filter((i) => !i.deleted)).toEqual([])
  }, 120_000)

  it("Ctrl-C during acquire rolls back: the half-made instance is deleted and the claim forgotten", async () => {
    await emulator.setFaults(["never-ready"])
    const child = spawn(process.execPath, [crabboxBin, "run", "--", "true"], {
      cwd: repo, env: { PATH: process.env.PATH ?? "", ...env }, stdio: ["ignore", "pipe", "pipe"]
    })
    let stderr = ""
    const exited = new Promise<number | null>((resolve) => child.on("close", (code) => resolve(code)))
    await new Promise<void>((resolve) => child.stderr.on("data", (d: Buffer) => {
      stderr += d.toString()
      if (/inst_\S+ provisioning/.test(stderr)) resolve()
    }))
    expect((await emulator.instances()).filter((i) => !i.deleted)).toHaveLength(1)
    child.kill("SIGINT")
    expect(await exited).toBe(130)
    seen.push({ code: 130, stdout: "", stderr, stdoutBytes: 0 })
    expect(stderr).toMatch(/rolled back lease=cbx_[0-9a-f]{12}/)
    expect(claims()).toEqual([])
    expect((await emulator.instances()).filter((i) => !i.deleted)).toEqual([])
  }, 90_000)

  it("a lost create response is recovered by replaying the same request with the same key", async () => {
    await emulator.setFaults(["lose-create:1"])
    const before = (await emulator.requests()).length
    const created = (await emulator.instances()).length
    const r = await crabbox(["run", "--", "echo", "recovered"])
    expect(r.code).toBe(0)
    expect(r.stdout).toContain("recovered")
    const posts = (await emulator.requests()).slice(before).filter((q) => q.method === "POST")
    expect(posts).toHaveLength(2)
    expect(posts[0]!.status).toBe(500)
    expect(posts[1]!.idempotencyKey).toBe(posts[0]!.idempotencyKey)
    expect(posts[1]!.body).toEqual(posts[0]!.body)
    expect((await emulator.instances()).length).toBe(created + 1)
    expect(await residue()).toEqual([])
    expect(claims()).toEqual([])
  }, 90_000)

  it("5xx and 429 bursts, a dropped create and slow SSH still end with nothing left over", async () => {
    await emulator.setFaults(["fail:get:503:2", "rate-limit:list:1:0", "drop-create:1", "fail:create:503:1", "slow-ssh:1s"])
    const r = await crabbox(["run", "--", "echo", "through"])
    expect(r.stdout).toContain("through")
    expect(r.code).toBe(0)
    expect(await residue()).toEqual([])
    expect((await emulator.instances()).filter((i) => !i.deleted)).toEqual([])
  }, 120_000)

  it("a delete that keeps failing leaves a recovery claim; cleanup finishes it", async () => {
    await emulator.setFaults(["fail-delete:20"])
    const r = await crabbox(["run", "--", "true"])
    expect(r.code).not.toBe(0)
    expect(r.stderr).toMatch(/lease cleanup failed|claim stays|recovery/)
    const left = claims()
    expect(left).toHaveLength(1)
    expect(left[0]!.state).toBe("recovery")
    expect(await residue()).toEqual([])
    await emulator.setFaults([])
    const cleanup = await crabbox(["cleanup"])
    expect(cleanup.code).toBe(0)
    expect(cleanup.stderr).toMatch(new RegExp(`delete lease=${left[0]!.leaseId}`))
    expect(claims()).toEqual([])
    expect((await emulator.instances()).filter((i) => !i.deleted)).toEqual([])
  }, 120_000)

  it("cleanup deletes only what a claim proves it owns, honours keep and TTL, and --dry-run changes nothing", async () => {
    const foreign = await fetch(`${emulator.apiUrl}/compute/instances`, {
      method: "POST",
      headers: { authorization: "Key someone-else", "content-type": "application/json", accept: "application/json" },
      body: JSON.stringify({ instance_type: "gpu_1x_h100_sxm5", ssh_key: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl teammate" })
    }).then((res) => res.json() as Promise<{ id: string }>)
    expect((await crabbox(["warmup", "--slug", "short-lived", "--ttl", "1s"])).code).toBe(0)
    expect((await crabbox(["warmup", "--keep", "--slug", "kept-one", "--ttl", "1s"])).code).toBe(0)
    await new Promise((r) => setTimeout(r, 1200))
    const liveBefore = (await emulator.instances()).filter((i) => !i.deleted).map((i) => i.id).sort()
    const dry = await crabbox(["cleanup", "--dry-run"])
    expect(dry.code).toBe(0)
    expect(dry.stderr).toMatch(/would-delete lease=\S+ slug=short-lived .*reason=ttl/)
    expect(dry.stderr).toMatch(/skip lease=\S+ slug=kept-one .*reason=keep/)
    expect((await emulator.instances()).filter((i) => !i.deleted).map((i) => i.id).sort()).toEqual(liveBefore)
    expect(claims()).toHaveLength(2)
    const real = await crabbox(["cleanup"])
    expect(real.code).toBe(0)
    expect(claims().map((c) => c.slug)).toEqual(["kept-one"])
    const live = (await emulator.instances()).filter((i) => !i.deleted).map((i) => i.id)
    expect(live).toContain(foreign.id)
    expect(live).toHaveLength(2)
    expect(dry.stderr + real.stderr).not.toContain(foreign.id)
    expect((await crabbox(["stop", "kept-one"])).code).toBe(0)
    expect(await residue([foreign.id])).toEqual([])
  }, 120_000)

  it("request shapes: Key auth, JSON headers, Idempotency-Key only on create, sector only with 8x", async () => {
    const before = (await emulator.requests()).length
    expect((await crabbox(["run", "--type", "8xH100-SXM", "--fal-sector", "sector_2", "--", "true"])).code).toBe(0)
    expect((await crabbox(["run", "--", "true"])).code).toBe(0)
    const made = (await emulator.requests()).slice(before)
    expect(made.every((q) => q.authorization === "key" && q.accept === "application/json")).toBe(true)
    for (const q of made) {
      expect(q.headers.includes("content-type")).toBe(q.method === "POST")
      expect(q.idempotencyKey === undefined).toBe(q.method !== "POST")
    }
    const posts = made.filter((q) => q.method === "POST")
    expect(posts.map((q) => q.body)).toEqual([
      expect.objectContaining({ instance_type: "gpu_8x_h100_sxm5", sector: "sector_2" }),
      expect.not.objectContaining({ sector: expect.anything() })
    ])
    expect(posts.every((q) => /^cbx_[0-9a-f]{12}$/.test(q.idempotencyKey ?? ""))).toBe(true)
    const refused = await crabbox(["run", "--fal-sector", "sector_1", "--", "true"])
    expect(refused.code).toBe(2)
    expect(refused.stderr).toMatch(/sector/)
    expect((await emulator.requests()).slice(before + made.length).filter((q) => q.method === "POST")).toEqual([])
  }, 120_000)

  it("a repo .crabbox.yaml may not choose where the key is sent; no key is exit 3", async () => {
    const other = makeRepo({ ".crabbox.yaml": "fal:\n  apiUrl: https://collector.example.invalid/v1\n" })
    const { CRABBOX_FAL_API_URL: _url, ...noUrl } = env
    const r = await runCrabbox(["list"], { cwd: other, env: noUrl })
    seen.push(r)
    expect(r.code).toBe(2)
    expect(r.stderr).toMatch(/fal\.apiUrl .*repository config/)
    const { FAL_KEY: _dropped, ...noKey } = env
    const missing = await runCrabbox(["run", "--", "true"], { cwd: repo, env: noKey })
    expect(missing.code).toBe(3)
    expect(missing.stderr).toMatch(/CRABBOX_FAL_KEY or FAL_KEY/)
  })

  it("another provider's flag is refused, never silently ignored", async () => {
    const r = await crabbox(["list", "--ssh-host", "box.example.invalid", "--modal-app", "x"])
    expect(r.code).toBe(2)
    expect(r.stderr).toMatch(/--ssh-host, --modal-app do not apply to provider=fal \(its flags: --fal-api-url/)
    expect((await crabbox(["list", "--ssh-port", String(emulator.sshPort)])).code).toBe(0)
  })

  it("the canary key appears in no output, no error and no file under the state dir", async () => {
    expect(seen.length).toBeGreaterThan(10)
    for (const r of seen) {
      expect(r.stdout).not.toContain(CANARY)
      expect(r.stderr).not.toContain(CANARY)
    }
    const files = filesUnder(env.CRABBOX_STATE_DIR!)
    expect(files.length).toBeGreaterThan(0)
    for (const file of files) expect(readFileSync(file, "utf8")).not.toContain(CANARY)
  })
})

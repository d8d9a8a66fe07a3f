/**
 * Lease lifecycle through the real CLI and a real sshd: ssh --print gives a working OpenSSH
 * command, cleanup honours keep and TTL and --dry-run changes nothing, doctor is read-only.
 */
import { execFileSync, spawn, spawnSync } from "node:child_process"
import { existsSync, mkdtempSync, readdirSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { crabboxBin, isolatedEnv, makeRepo, runCrabbox } from "../support/cli.js"
import { startSshd, type TestSshd } from "../support/sshd.js"

const listLeases = (stateDir: string) =>
  existsSync(join(stateDir, "claims")) ? readdirSync(join(stateDir, "claims")).filter((n) => n.endsWith(".json")) : []

describe("lease lifecycle (real sshd)", () => {
  let sshd: TestSshd
  let repo: string
  let env: Record<string, string>
  const crabbox = (args: ReadonlyArray<string>) => runCrabbox(args, { cwd: repo, env })

  beforeAll(async () => {
    sshd = await startSshd()
    repo = makeRepo()
    env = isolatedEnv({
      CRABBOX_PROVIDER: "ssh",
      CRABBOX_SSH_HOST: "127.0.0.1",
      CRABBOX_SSH_PORT: String(sshd.port),
      CRABBOX_SSH_USER: sshd.user,
      CRABBOX_SSH_KEY: sshd.clientKey.privateKeyPath,
      CRABBOX_SSH_WORK_ROOT: mkdtempSync(join(tmpdir(), "crabbox-work-"))
    })
  })
  afterAll(async () => { await sshd?.stop() })

  it("ssh --print gives an OpenSSH command that connects with the pinned host key", async () => {
    expect((await crabbox(["warmup", "--slug", "printable"])).code).toBe(0)
    const printed = await crabbox(["ssh", "--print", "printable"])
    expect(printed.code).toBe(0)
    const line = printed.stdout.trim()
    expect(line).toMatch(/^ssh .*StrictHostKeyChecking=yes/)
    // BatchMode: fail rather than prompt if anything is off
    const out = execFileSync("sh", ["-c", `${line.replace(/^ssh /, "ssh -o BatchMode=yes ")} echo via-openssh`]).toString()
    expect(out.trim()).toBe("via-openssh")
    expect((await crabbox(["stop", "printable"])).code).toBe(0)
  })

  it("ssh opens an interactive PTY session over ssh2 (driven through script(1))", async () => {
    expect((await crabbox(["warmup", "--slug", "interactive"])).code).toBe(0)
    const command = `${process.execPath} ${crabboxBin} ssh interactive`
    const r = spawnSync("script", ["-qec", command, "/dev/null"], {
      cwd: repo, env: { PATH: process.env.PATH ?? "", ...env }, input: "tty -s && echo on-a-tty; exit 3\n", timeout: 30_000
    })
    expect(r.stdout.toString()).toContain("on-a-tty")
    expect(r.status).toBe(3)
    expect((await crabbox(["stop", "interactive"])).code).toBe(0)
  })

  it("Ctrl-C during run releases the fresh lease: no claim, no workdir left", async () => {
    const stateDir = env.CRABBOX_STATE_DIR!
    const before = listLeases(stateDir)
    const child = spawn(process.execPath, [crabboxBin, "run", "--", "sleep", "30"], {
      cwd: repo, env: { PATH: process.env.PATH ?? "", ...env }, stdio: ["ignore", "pipe", "pipe"]
    })
    let stderr = ""
    const exited = new Promise<number | null>((resolve) => child.on("close", (code) => resolve(code)))
    await new Promise<void>((resolve) => child.stderr.on("data", (d: Buffer) => {
      stderr += d.toString()
      if (stderr.includes("running on")) resolve()
    }))
    const leaseId = /leased (cbx_[0-9a-f]{12})/.exec(stderr)?.[1]
    expect(leaseId).toBeDefined()
    child.kill("SIGINT")
    expect(await exited).toBe(130)
    expect(stderr).toContain(`lease cleanup stopped=true policy=auto lease=${leaseId}`)
    expect(listLeases(stateDir)).toEqual(before)
    expect(existsSync(join(env.CRABBOX_SSH_WORK_ROOT!, leaseId!))).toBe(false)
  })

  it("status --wait returns at once for a ready lease; an unknown lease exits 4", async () => {
    expect((await crabbox(["warmup", "--slug", "waiter"])).code).toBe(0)
    const waited = await crabbox(["status", "--wait", "--json", "waiter"])
    expect(waited.code).toBe(0)
    expect(JSON.parse(waited.stdout)).toMatchObject({ slug: "waiter", ready: true, provider: "ssh" })
    const missing = await crabbox(["status", "no-such-lease"])
    expect(missing.code).toBe(4)
    expect((await crabbox(["stop", "waiter"])).code).toBe(0)
  })

  it("cleanup --dry-run changes nothing; cleanup ends expired leases and skips kept ones", async () => {
    const stateDir = env.CRABBOX_STATE_DIR!
    const before = listLeases(stateDir).length
    expect((await crabbox(["warmup", "--slug", "short", "--ttl", "1s"])).code).toBe(0)
    expect((await crabbox(["warmup", "--slug", "kept", "--keep", "--ttl", "1s"])).code).toBe(0)
    await new Promise((r) => setTimeout(r, 1500))
    const dry = await crabbox(["cleanup", "--dry-run"])
    expect(dry.code).toBe(0)
    expect(dry.stderr).toMatch(/would-delete lease=cbx_[0-9a-f]{12} slug=short .*reason=/)
    expect(dry.stderr).toMatch(/skip lease=cbx_[0-9a-f]{12} slug=kept .*reason=keep/)
    expect(listLeases(stateDir).length).toBe(before + 2)
    const real = await crabbox(["cleanup", "--json"])
    expect(real.code).toBe(0)
    const decisions = JSON.parse(real.stdout) as Array<{ slug: string; action: string; outcome: string }>
    expect(decisions.find((d) => d.slug === "short")).toMatchObject({ action: "delete", outcome: "done" })
    expect(decisions.find((d) => d.slug === "kept")).toMatchObject({ action: "skip" })
    expect(listLeases(stateDir).length).toBe(before + 1)
    expect((await crabbox(["stop", "kept"])).code).toBe(0)
  })

  it("doctor checks key and host and changes nothing", async () => {
    const stateDir = env.CRABBOX_STATE_DIR!
    const before = listLeases(stateDir)
    const r = await crabbox(["doctor", "--json"])
    expect(r.code).toBe(0)
    const report = JSON.parse(r.stdout) as { ok: boolean; checks: Array<{ check: string; status: string }> }
    expect(report.ok).toBe(true)
    expect(report.checks.find((c) => c.check === "ssh-auth")?.status).toBe("ok")
    expect(listLeases(stateDir)).toEqual(before)
    const bad = await runCrabbox(["doctor"], { cwd: repo, env: { ...env, CRABBOX_SSH_PORT: "1" } })
    expect(bad.code).toBe(1)
    expect(bad.stdout).toMatch(/^failed ssh-auth/m)
  })
})

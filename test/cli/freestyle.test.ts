/**
 * The freestyle provider through the real CLI against a local Freestyle v1 server (real
 * HTTP on 127.0.0.1; exec really runs bash in a per-VM directory): exit codes, the request
 * shapes, archive sync with its file-API fallback and staging swap, refused options, the
 * lease commands, and a canary key that must never show up in any output or file.
 */
import { spawn } from "node:child_process"
import { createHash, randomBytes } from "node:crypto"
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest"
import { type CliResult, crabboxBin, isolatedEnv, makeRepo, runCrabbox } from "../support/cli.js"
import { type FreestyleServer, startFreestyleServer } from "../support/freestyleServer.js"

const CANARY = "fsk-canary-5d1e8b2f9a0c7e41"

const filesUnder = (dir: string): Array<string> =>
  !existsSync(dir) ? [] : readdirSync(dir).flatMap((name) => {
    const path = join(dir, name)
    return statSync(path).isDirectory() ? filesUnder(path) : [path]
  })

const leaseOf = (text: string) => {
  const m = /leased (fsb_[A-Za-z0-9_-]+) slug=(\S+) provider=freestyle server=(\S+)/.exec(text)
  if (!m) throw new Error(`no lease line in: ${text}`)
  return { leaseId: m[1]!, slug: m[2]!, vmId: m[3]! }
}

describe("freestyle provider (CLI against a local v1 server)", () => {
  let server: FreestyleServer
  let repo: string
  let env: Record<string, string>
  const seen: Array<CliResult> = []

  const crabbox = async (args: ReadonlyArray<string>, options: { env?: Record<string, string>; cwd?: string } = {}) => {
    const r = await runCrabbox(args, { cwd: options.cwd ?? repo, env: options.env ?? env, timeoutMs: 60_000 })
    seen.push(r)
    return r
  }
  const claims = () => filesUnder(join(env.CRABBOX_STATE_DIR!, "claims")).filter((f) => f.endsWith(".json"))
    .map((f) => JSON.parse(readFileSync(f, "utf8")) as { leaseId: string; slug: string; cloudId: string; state: string; labels: Record<string, string> })
  const creates = () => server.requests.filter((r) => r.method === "POST" && r.url === "/v1/vms").length
  const remoteWorkspace = (vmId: string) => join(server.vms.get(vmId)!.root, "workspace")

  beforeAll(async () => {
    server = await startFreestyleServer({ key: CANARY })
    repo = makeRepo({ "README.md": "# freestyle demo\n", "src/main.sh": "echo main\n" })
    env = isolatedEnv({ CRABBOX_PROVIDER: "freestyle", CRABBOX_FREESTYLE_API_URL: server.url, FREESTYLE_API_KEY: CANARY })
  })
  afterAll(async () => { await server?.close() })
  beforeEach(() => {
    for (const key of Object.keys(server.faults)) delete (server.faults as Record<string, unknown>)[key]
  })

  it("providers --json shows freestyle as a delegated run with archive sync and run sessions", async () => {
    const r = await crabbox(["providers", "--json"])
    expect(r.code).toBe(0)
    const freestyle = (JSON.parse(r.stdout) as Array<{ provider: string; kind: string; features: Array<string>; targets: Array<string> }>)
      .find((p) => p.provider === "freestyle")
    expect(freestyle).toMatchObject({ kind: "delegated-run", features: ["archive-sync", "run-session"], targets: ["linux"] })
  })

  it("runs in /workspace/crabbox, passes exit codes 0, 1 and 42 through, and deletes the VM after", async () => {
    const ok = await crabbox(["run", "--", "sh", "-c", "pwd; cat README.md; echo to-err >&2"])
    expect(ok.code).toBe(0)
    expect(ok.stdout).toMatch(/\/workspace\/crabbox\n# freestyle demo\n$/)
    expect(ok.stderr).toContain("to-err")
    expect(ok.stdout).not.toContain("to-err")
    const lease = leaseOf(ok.stderr)
    expect(lease.leaseId).toBe(`fsb_${lease.vmId}`)
    expect(lease.slug).toMatch(/^[a-z]+-[a-z]+(-[0-9a-f]{4})?$/)
    expect(ok.stderr).toMatch(/run summary provider=freestyle sync=\S+ command=\S+ total=\S+ sync_skipped=false exit=0/)
    expect((await crabbox(["run", "--", "false"])).code).toBe(1)
    const failed = await crabbox(["run", "--", "sh", "-c", "exit 42"])
    expect(failed.code).toBe(42)
    expect(failed.stderr).toContain("remote command exited 42")
    expect(server.vms.size).toBe(0)
    expect(claims()).toEqual([])
  })

  it("creates VMs with no external ports and sends the bearer key on every request", async () => {
    const posted = server.requests.filter((r) => r.method === "POST" && r.url === "/v1/vms")
    expect(posted.length).toBeGreaterThan(0)
    for (const create of posted) {
      expect(create.body).toMatchObject({ ports: [] })
      expect((create.body as { name: string }).name).toMatch(/^crabbox-[a-z0-9-]+-[0-9a-f]{6}$/)
      expect(create.body).not.toHaveProperty("template")
    }
    expect(server.requests.every((r) => r.headers["authorization"] === `Bearer ${CANARY}`)).toBe(true)
    const exec = server.requests.find((r) => r.url.endsWith("/exec-await") && JSON.stringify(r.body).includes("echo to-err"))
    expect((exec!.body as { command: string }).command).toMatch(/^bash -lc 'cd '\\''\/workspace\/crabbox'\\'' && /)
  })

  it("quotes argv word by word, runs --shell lines as written and forwards allowlisted variables", async () => {
    const argv = await crabbox(["run", "--", "printf", "%s|", "a b", "it's", "$HOME"])
    expect(argv.stdout).toBe("a b|it's|$HOME|")
    const shell = await crabbox(["run", "--shell", "--", "echo", "a", "&&", "echo", "b"])
    expect(shell.stdout).toBe("a\nb\n")
    const envRun = await crabbox(["run", "--allow-env", "CRABBOX_TEST_VAR", "--", "sh", "-c", "echo \"[$CRABBOX_TEST_VAR][$OTHER_VAR]\""],
      { env: { ...env, CRABBOX_TEST_VAR: "it's $x", OTHER_VAR: "nope" } })
    expect(envRun.stdout).toBe("[it's $x][]\n")
  })

  it("falls back to chunked exec upload when the file API is unavailable", async () => {
    const big = randomBytes(150 * 1024)
    writeFileSync(join(repo, "big.bin"), big)
    try {
      server.faults.fileApiStatus = 404
      const before = server.requests.length
      const r = await crabbox(["run", "--", "sha256sum", "big.bin"])
      expect(r.code).toBe(0)
      expect(r.stdout.split(" ")[0]).toBe(createHash("sha256").update(big).digest("hex"))
      expect(r.stderr).toContain("freestyle file API upload failed; falling back to exec upload")
      const chunks = server.requests.slice(before).filter((q) => JSON.stringify(q.body ?? "").includes("printf %s"))
      expect(chunks.length).toBeGreaterThanOrEqual(Math.ceil(big.length / (48 * 1024)))
    } finally {
      rmSync(join(repo, "big.bin"))
    }
  })

  describe("a kept lease", () => {
    let lease: ReturnType<typeof leaseOf>

    it("warms up with a chosen slug and shows in list and status", async () => {
      const warm = await crabbox(["warmup", "--slug", "Swap Test"])
      expect(warm.code).toBe(0)
      lease = leaseOf(warm.stdout)
      expect(lease.slug).toBe("swap-test")
      expect(warm.stdout).toMatch(/warmup complete total=/)
      expect(warm.stderr).toContain("has no cleanup: the lease stays until crabbox stop --provider freestyle")
      const list = await crabbox(["list", "--json"])
      const views = JSON.parse(list.stdout) as Array<{ leaseId: string; slug: string; status: string; provider: string }>
      expect(views).toContainEqual(expect.objectContaining({ leaseId: lease.leaseId, slug: "swap-test", status: "running", provider: "freestyle" }))
      const status = await crabbox(["status", "swap-test", "--json"])
      expect(status.code).toBe(0)
      expect(JSON.parse(status.stdout)).toMatchObject({ leaseId: lease.leaseId, ready: true, status: "running", workdir: "/workspace/crabbox", hasHost: false })
    })

    it("swaps the workspace in through a staging directory: removed files go, nothing is left beside it", async () => {
      writeFileSync(join(repo, "extra.txt"), "temporary\n")
      try {
        const first = await crabbox(["run", "--id", "swap-test", "--", "cat", "extra.txt"])
        expect(first.stdout).toBe("temporary\n")
      } finally {
        rmSync(join(repo, "extra.txt"))
      }
      const second = await crabbox(["run", "--id", "swap-test", "--", "sh", "-c", "ls extra.txt 2>&1; exit 0"])
      expect(second.stdout).toMatch(/No such file/)
      expect(readdirSync(remoteWorkspace(lease.vmId))).toEqual(["crabbox"])
      expect(readdirSync(join(server.vms.get(lease.vmId)!.root, "tmp"))).toEqual([])
    })

    it("leaves the previous workspace intact when the upload or the extraction fails", async () => {
      writeFileSync(join(repo, "marker.txt"), "v1\n")
      expect((await crabbox(["run", "--id", "swap-test", "--", "true"])).code).toBe(0)
      writeFileSync(join(repo, "marker.txt"), "v2\n")
      try {
        server.faults.fileApiStatus = 500
        server.faults.execExit = { match: /printf %s/, code: 1, stderr: "No space left on device" }
        const upload = await crabbox(["run", "--id", "swap-test", "--", "cat", "marker.txt"])
        expect(upload.code).toBe(6)
        expect(upload.stderr).toContain("No space left on device")
        expect(upload.stdout).toBe("")
        expect(readFileSync(join(remoteWorkspace(lease.vmId), "crabbox", "marker.txt"), "utf8")).toBe("v1\n")

        delete server.faults.fileApiStatus
        server.faults.execExit = { match: /tar -x/, code: 2, stderr: "tar: short read" }
        const extract = await crabbox(["run", "--id", "swap-test", "--", "cat", "marker.txt"])
        expect(extract.code).toBe(6)
        expect(readFileSync(join(remoteWorkspace(lease.vmId), "crabbox", "marker.txt"), "utf8")).toBe("v1\n")
        expect(readdirSync(remoteWorkspace(lease.vmId))).toEqual(["crabbox"])
        expect(readdirSync(join(server.vms.get(lease.vmId)!.root, "tmp"))).toEqual([])

        delete server.faults.execExit
        const healed = await crabbox(["run", "--id", "swap-test", "--", "cat", "marker.txt"])
        expect(healed.stdout).toBe("v2\n")
      } finally {
        rmSync(join(repo, "marker.txt"))
      }
    })

    it("honours --no-sync (workdir only) and --sync-only (prints the workdir)", async () => {
      writeFileSync(join(repo, "late.txt"), "late\n")
      try {
        const noSync = await crabbox(["run", "--id", "swap-test", "--no-sync", "--", "sh", "-c", "ls late.txt 2>&1; exit 0"])
        expect(noSync.stdout).toMatch(/No such file/)
        expect(noSync.stderr).toContain("sync_skipped=true")
        const only = await crabbox(["run", "--id", "swap-test", "--sync-only"])
        expect(only.code).toBe(0)
        expect(only.stdout).toBe("synced /workspace/crabbox\n")
        expect(readFileSync(join(remoteWorkspace(lease.vmId), "crabbox", "late.txt"), "utf8")).toBe("late\n")
      } finally {
        rmSync(join(repo, "late.txt"))
      }
    })

    it("status --wait polls until running; a stopped VM fails with exit 5", async () => {
      const vm = server.vms.get(lease.vmId)!
      vm.state = "starting"
      const later = setTimeout(() => { vm.state = "running" }, 2500)
      const waited = await crabbox(["status", "swap-test", "--wait", "--wait-timeout", "30s"])
      clearTimeout(later)
      expect(waited.code).toBe(0)
      expect(waited.stdout).toContain("ready=true")
      expect(waited.stderr).toContain("waiting for swap-test")
      vm.state = "stopped"
      const stopped = await crabbox(["status", "swap-test", "--wait", "--wait-timeout", "30s"])
      expect(stopped.code).toBe(5)
      expect(stopped.stderr).toContain("terminal state stopped")
      vm.state = "running"
    })

    it("stop deletes the VM and forgets the claim; a second stop finds nothing", async () => {
      const stop = await crabbox(["stop", "swap-test"])
      expect(stop.code).toBe(0)
      expect(stop.stderr).toContain(`deleted lease=${lease.leaseId} slug=swap-test server=${lease.vmId}`)
      expect(server.vms.has(lease.vmId)).toBe(false)
      expect(claims()).toEqual([])
      expect((await crabbox(["stop", "swap-test"])).code).toBe(4)
    })
  })

  it("lists unclaimed crabbox VMs, refuses to stop or reuse them without a claim, adopts them with --reclaim", async () => {
    const lost = server.addVm("crabbox-lost-0a1b2c")
    const foreign = server.addVm("my-production-app")
    try {
      const views = JSON.parse((await crabbox(["list", "--json"])).stdout) as Array<{ leaseId: string; cloudId: string; labels: Record<string, string> }>
      expect(views).toContainEqual(expect.objectContaining({ leaseId: `fsb_${lost.id}`, labels: expect.objectContaining({ claimed: "false" }) }))
      expect(views.map((v) => v.cloudId)).not.toContain(foreign.id)
      expect((await crabbox(["stop", `fsb_${lost.id}`])).code).toBe(4)
      expect(server.vms.has(lost.id)).toBe(true)
      const unclaimed = await crabbox(["run", "--id", `fsb_${lost.id}`, "--", "true"])
      expect(unclaimed.code).toBe(4)
      expect(unclaimed.stderr).toContain("--reclaim")
      const foreignRun = await crabbox(["run", "--id", `fsb_${foreign.id}`, "--reclaim", "--", "true"])
      expect(foreignRun.code).toBe(4)
      expect(foreignRun.stderr).toContain("not created by crabbox")
      const adopted = await crabbox(["run", "--id", `fsb_${lost.id}`, "--reclaim", "--no-sync", "--", "true"])
      expect(adopted.code).toBe(0)
      expect(claims().map((c) => c.cloudId)).toEqual([lost.id])
      expect((await crabbox(["stop", `fsb_${lost.id}`])).code).toBe(0)
      expect(server.vms.has(lost.id)).toBe(false)
    } finally {
      server.vms.delete(foreign.id)
      server.vms.delete(lost.id)
    }
  })

  it("refuses options it cannot honour with exit 2 before any VM exists", async () => {
    const before = creates()
    const cases: Array<[ReadonlyArray<string>, string]> = [
      [["run", "--full-resync", "--", "true"], "--full-resync"],
      [["run", "--type", "big", "--", "true"], "--type"],
      [["warmup", "--type", "big"], "--type"],
      [["run", "--idle-timeout", "10m", "--", "true"], "--idle-timeout is not supported for provider=freestyle"],
      [["warmup", "--idle-timeout", "10m"], "--idle-timeout"],
      [["run", "--checksum", "--", "true"], "checksum"],
      [["run", "--actions-runner", "--", "true"], "actions-runner"],
      [["warmup", "--actions-runner"], "actions-runner"],
      [["run", "--freestyle-api-key", "x", "--", "true"], "freestyle-api-key"],
      [["run", "--provider", "freestyle", "--emulator", "--", "true"], "--emulator"],
      [["ssh", "swap-test"], "not supported for delegated provider=freestyle"],
      [["cleanup"], "not supported for provider=freestyle"],
      [["run"], "usage: crabbox run"],
      [["run", "--id", "x", "--slug", "y", "--", "true"], "--slug"]
    ]
    for (const [args, needle] of cases) {
      const r = await crabbox(args)
      expect({ args, code: r.code }).toEqual({ args, code: 2 })
      expect(r.stderr).toContain(needle)
    }
    expect(creates()).toBe(before)
  })

  it("checks configuration first: key, API URL origin and scheme, workdir, sizing", async () => {
    const requests = server.requests.length
    const { FREESTYLE_API_KEY: _, ...noKey } = env
    const missing = await crabbox(["run", "--", "true"], { env: noKey })
    expect(missing.code).toBe(3)
    expect(missing.stderr).toContain("CRABBOX_FREESTYLE_API_KEY or FREESTYLE_API_KEY")
    const doctorNoKey = await crabbox(["doctor"], { env: noKey })
    expect(doctorNoKey.code).toBe(1)
    expect(doctorNoKey.stdout).toContain("missing freestyle-auth")

    const flagged = async (flags: ReadonlyArray<string>, needle: string) => {
      const r = await crabbox(["run", ...flags, "--", "true"])
      expect({ flags, code: r.code }).toEqual({ flags, code: 2 })
      expect(r.stderr).toContain(needle)
    }
    await flagged(["--freestyle-workdir", "/etc"], "must be relative under /workspace")
    await flagged(["--freestyle-workdir", "../etc"], "must not contain ..")
    await flagged(["--freestyle-workdir", "a/../../etc"], "must not contain ..")
    await flagged(["--freestyle-workdir", "."], "escapes /workspace")
    await flagged(["--freestyle-vcpus", "3"], "power of two")
    await flagged(["--freestyle-memory-gb", "12"], "power of two")
    await flagged(["--freestyle-api-url", "http://api.example.test"], "HTTPS except for loopback")
    await flagged(["--freestyle-api-url", "https://user:pw@api.example.test"], "userinfo")

    const repoWithUrl = makeRepo({ "README.md": "# x\n", ".crabbox.yaml": "freestyle:\n  apiUrl: http://127.0.0.1:9\n" })
    const { CRABBOX_FREESTYLE_API_URL: __, ...noUrl } = env
    const fromRepo = await crabbox(["run", "--", "true"], { cwd: repoWithUrl, env: noUrl })
    expect(fromRepo.code).toBe(2)
    expect(fromRepo.stderr).toContain("may not be set by a repository config file")
    expect(server.requests.length).toBe(requests)

    // the user's own config may choose the endpoint
    mkdirSync(join(env.XDG_CONFIG_HOME!, "crabbox"), { recursive: true })
    writeFileSync(join(env.XDG_CONFIG_HOME!, "crabbox", "config.yaml"), `freestyle:\n  apiUrl: ${server.url}\n`, { mode: 0o600 })
    try {
      const doctor = await crabbox(["doctor"], { env: noUrl })
      expect(doctor.code).toBe(0)
      expect(doctor.stdout).toMatch(/ok freestyle-inventory .*auth=ready inventory=ready inventory_count=\d+ crabbox_vms=\d+ api=list mutation=false/)
    } finally {
      rmSync(join(env.XDG_CONFIG_HOME!, "crabbox", "config.yaml"))
    }
  })

  it("explains CUSTOM_SIZING_NOT_ALLOWED and sends sizing only under template", async () => {
    server.faults.createError = { status: 403, body: { error: "CUSTOM_SIZING_NOT_ALLOWED", message: "custom sizing is not enabled for this plan" } }
    const r = await crabbox(["run", "--freestyle-vcpus", "8", "--freestyle-memory-gb", "16", "--", "true"])
    expect(r.code).toBe(2)
    expect(r.stderr).toContain("CUSTOM_SIZING_NOT_ALLOWED")
    expect(r.stderr).toContain("plan defaults")
    expect(server.requests.at(-1)!.body).toMatchObject({ ports: [], template: { vcpuCount: 8, memSizeGb: 16 } })
    expect(claims()).toEqual([])
  })

  it("never reports a missing exit status as success, and a command past the lease TTL exits 124", async () => {
    server.faults.omitStatusCode = true
    const missing = await crabbox(["run", "--", "true"])
    expect(missing.code).not.toBe(0)
    expect(missing.stderr).toContain("no status code")
    delete server.faults.omitStatusCode
    const slow = await crabbox(["run", "--ttl", "1s", "--", "sleep", "20"])
    expect(slow.code).toBe(124)
    expect(slow.stderr).toContain("timed out")
    expect(server.vms.size).toBe(0)
  })

  it("a process killed during the create leaves a create-intent claim that list shows and stop finishes", async () => {
    server.faults.createDelayMs = 1500
    const posts = creates()
    const child = spawn(process.execPath, [crabboxBin, "warmup", "--slug", "killed-box"], {
      cwd: repo, env: { PATH: process.env.PATH ?? "/usr/bin:/bin", ...env }, stdio: "ignore"
    })
    const exited = new Promise<void>((resolve) => child.on("close", () => resolve()))
    const deadline = Date.now() + 30_000
    while (creates() === posts && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20))
    child.kill("SIGKILL")
    await exited
    const name = (server.requests.filter((r) => r.method === "POST" && r.url === "/v1/vms").at(-1)!.body as { name: string }).name
    // the server finishes the create after the process is gone
    while (![...server.vms.values()].some((v) => v.name === name) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20))
    const vm = [...server.vms.values()].find((v) => v.name === name)!
    expect(vm).toBeDefined()
    const left = claims()
    expect(left).toEqual([expect.objectContaining({ state: "create-intent", labels: expect.objectContaining({ vm_name: name }) })])
    const views = JSON.parse((await crabbox(["list", "--json"])).stdout) as Array<{ leaseId: string; cloudId: string | null; status: string }>
    expect(views.filter((v) => v.cloudId === vm.id)).toEqual([expect.objectContaining({ leaseId: left[0]!.leaseId, status: "running" })])
    const stop = await crabbox(["stop", left[0]!.leaseId])
    expect(stop.code).toBe(0)
    expect(stop.stderr).toContain(`server=${vm.id}`)
    expect(server.vms.has(vm.id)).toBe(false)
    expect(claims()).toEqual([])
  })

  it("never prints forwarded values, even when a Freestyle error echoes the command", async () => {
    const value = "tok'en-5ecret-value"
    server.faults.execHttpError = { match: /CRABBOX_SECRET_VAR/, status: 500, echoCommand: true }
    const r = await crabbox(["run", "--allow-env", "CRABBOX_SECRET_VAR", "--", "true"], { env: { ...env, CRABBOX_SECRET_VAR: value } })
    expect(r.code).toBe(1)
    expect(r.stderr).toContain("exec failed: bash -lc")
    expect(r.stderr).toContain("CRABBOX_SECRET_VAR=")
    expect(r.stderr).not.toContain("5ecret")
    expect(r.stdout).not.toContain("5ecret")
    expect(server.vms.size).toBe(0)
  })

  it("run --id limits the command by the lease's TTL from its warmup; a later --ttl is refused", async () => {
    const warm = await crabbox(["warmup", "--slug", "short-ttl", "--ttl", "2s"])
    expect(warm.code).toBe(0)
    const refused = await crabbox(["run", "--id", "short-ttl", "--ttl", "90m", "--no-sync", "--", "true"])
    expect(refused.code).toBe(2)
    expect(refused.stderr).toContain("--ttl, --idle-timeout and --type set a new lease's limits")
    const slow = await crabbox(["run", "--id", "short-ttl", "--no-sync", "--", "sleep", "20"])
    expect(slow.code).toBe(124)
    expect(slow.stderr).toContain("freestyle exec timed out after 2s (the lease ttl)")
    expect((await crabbox(["stop", "short-ttl"])).code).toBe(0)
  })

  it("keeps a failed run's lease with --keep-on-failure and prints how to stop it", async () => {
    const r = await crabbox(["run", "--keep-on-failure", "--", "sh", "-c", "exit 7"])
    expect(r.code).toBe(7)
    const lease = leaseOf(r.stderr)
    expect(r.stderr).toContain(`lease kept lease=${lease.leaseId} slug=${lease.slug}; stop: crabbox stop --provider freestyle --freestyle-api-url '${server.url}' ${lease.slug}`)
    expect(server.vms.has(lease.vmId)).toBe(true)
    expect((await crabbox(["stop", lease.slug])).code).toBe(0)
  })

  it("never shows or stores the key, even when the server echoes it back", async () => {
    server.faults.echoAuthInErrors = true
    server.faults.createError = { status: 500, body: { error: "INTERNAL_ERROR", message: `boom; request had Bearer ${CANARY}, key ${CANARY}` } }
    const r = await crabbox(["run", "--", "true"])
    expect(r.code).toBe(1)
    expect(r.stderr).toContain("INTERNAL_ERROR")
    for (const result of seen) {
      expect(result.stdout).not.toContain(CANARY)
      expect(result.stderr).not.toContain(CANARY)
    }
    for (const file of filesUnder(env.HOME!)) expect(readFileSync(file, "utf8")).not.toContain(CANARY)
  })
})

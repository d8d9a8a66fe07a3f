/**
 * Black-box runs of the built CLI with `--provider modal`: the bundled helper script runs
 * under python3 against the fake `modal` package (put on PYTHONPATH), so this covers the
 * embedding in dist/crabbox.cjs, the core's delegated dispatch, and the backend.
 */
import { existsSync, mkdirSync, readdirSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { beforeAll, describe, expect, it } from "vitest"
import { isolatedEnv, makeRepo, runCrabbox } from "../support/cli.js"
import { type FakeModal, makeFakeModal } from "../support/fakeModal/fakeModal.js"

const TOKEN_SECRET = "as-cli-token-secret-value"

describe("crabbox --provider modal (fake modal client)", () => {
  let repo: string
  let fake: FakeModal
  let env: Record<string, string>
  const crabbox = (args: ReadonlyArray<string>, extra: Record<string, string> = {}) =>
    runCrabbox(args, { cwd: repo, env: { ...env, ...extra } })
  const live = () => fake.sandboxes().filter((s) => !s.terminated)

  beforeAll(() => {
    repo = makeRepo({ "README.md": "# demo\n", "scripts/hello.sh": "#!/bin/sh\necho hello from $(basename \"$PWD\")\n" })
    fake = makeFakeModal()
    env = isolatedEnv({ ...fake.env, MODAL_TOKEN_ID: "ak-cli-token-id", MODAL_TOKEN_SECRET: TOKEN_SECRET })
  })

  it("providers --json lists modal as a delegated-run provider with archive-sync and run-session", async () => {
    const r = await crabbox(["providers", "--json"])
    expect(r.code).toBe(0)
    const modal = (JSON.parse(r.stdout) as Array<Record<string, unknown>>).find((p) => p["provider"] === "modal")
    expect(modal).toMatchObject({ kind: "delegated-run", features: ["archive-sync", "run-session"], targets: ["linux"], coordinator: "never" })
  })

  it("run syncs the tree, streams both streams, exits with the command's code and leaves no sandbox", async () => {
    const ok = await crabbox(["run", "--provider", "modal", "--", "sh", "scripts/hello.sh"])
    expect(ok.code).toBe(0)
    expect(ok.stdout).toBe("hello from crabbox\n")
    expect(ok.stderr).toContain("run summary provider=modal")
    const failed = await crabbox(["run", "--provider", "modal", "--shell", "--", "cat README.md; echo to-err >&2; exit 42"])
    expect(failed.code).toBe(42)
    expect(failed.stdout).toBe("# demo\n")
    expect(failed.stderr).toContain("to-err")
    expect(live()).toEqual([])
    const list = await crabbox(["list", "--provider", "modal", "--json"])
    expect(JSON.parse(list.stdout)).toEqual([])
  })

  it("warmup --keep, run --id, status, stop", async () => {
    const warm = await crabbox(["warmup", "--provider", "modal", "--keep", "--slug", "modal-kept"])
    expect(warm.code).toBe(0)
    expect(warm.stdout).toContain("slug=modal-kept provider=modal")
    expect(live()).toHaveLength(1)
    const sandbox = live()[0]!
    writeFileSync(join(repo, "untracked.txt"), "fresh\n")
    const run = await crabbox(["run", "--provider", "modal", "--id", "modal-kept", "--", "cat", "untracked.txt"])
    expect(run.code).toBe(0)
    expect(run.stdout).toBe("fresh\n")
    const status = await crabbox(["status", "--provider", "modal", "--json", sandbox.id])
    expect(status.code).toBe(0)
    expect(JSON.parse(status.stdout)).toMatchObject({ slug: "modal-kept", provider: "modal", cloudId: sandbox.id, ready: true, status: "running" })
    const stop = await crabbox(["stop", "--provider", "modal", "modal-kept"])
    expect(stop.code).toBe(0)
    expect(live()).toEqual([])
    expect((await crabbox(["status", "--provider", "modal", "modal-kept"])).code).toBe(4)
  })

  it("--keep-on-failure keeps the sandbox of a failed run, and the hint stops it", async () => {
    const r = await crabbox(["run", "--provider", "modal", "--keep-on-failure", "--", "false"])
    expect(r.code).toBe(1)
    const hint = /stop: (crabbox stop --provider modal \S+)/.exec(r.stderr)
    expect(hint).not.toBeNull()
    expect(live()).toHaveLength(1)
    expect((await crabbox(hint![1]!.split(" ").slice(1))).code).toBe(0)
    expect(live()).toEqual([])
  })

  it("forwarded env arrives; no argv of any spawned process holds the token, the value or the command", async () => {
    const before = fake.calls().length
    const r = await crabbox(["run", "--provider", "modal", "--allow-env", "CLI_FORWARDED", "--", "printenv", "CLI_FORWARDED"], { CLI_FORWARDED: "forwarded-value-77" })
    expect(r.code).toBe(0)
    expect(r.stdout).toBe("forwarded-value-77\n")
    const processes = fake.calls().slice(before).filter((c) => c.kind === "process")
    expect(processes.length).toBeGreaterThanOrEqual(5)
    for (const p of processes) {
      expect(p.tokenInEnv).toBe(true)
      expect(p.argv).toHaveLength(2)
      for (const banned of [TOKEN_SECRET, "ak-cli-token-id", "forwarded-value-77", "printenv", "CLI_FORWARDED"]) {
        expect(p.argv!.join(" ")).not.toContain(banned)
      }
    }
    const uploads = fake.calls().slice(before).filter((c) => c.kind === "upload" && c.remote!.includes("-env-"))
    expect(uploads).toHaveLength(1)
    expect(existsSync(fake.hostPath(uploads[0]!.sandbox!, uploads[0]!.remote!))).toBe(false)
  })

  it("options a delegated run cannot honour exit 2 and name the option, before anything is created", async () => {
    const before = fake.sandboxes().length
    for (const [args, named] of [
      [["--full-resync"], "--full-resync"],
      [["--type", "gpu"], "--type"],
      [["--checksum"], "--checksum"],
      [["--script", "x.sh"], "--script"]
    ] as const) {
      const r = await crabbox(["run", "--provider", "modal", ...args, "--", "true"])
      expect(r.code, args.join(" ")).toBe(2)
      expect(r.stderr).toContain(named)
    }
    const warm = await crabbox(["warmup", "--provider", "modal", "--type", "gpu"])
    expect(warm.code).toBe(2)
    expect(warm.stderr).toContain("--type")
    expect(fake.sandboxes()).toHaveLength(before)
  })

  it("a broad or relative workdir is refused with exit 2 before the client runs", async () => {
    const before = fake.calls().length
    for (const workdir of ["/", "/tmp", "/home", "/workspace", "/workspace/../tmp"]) {
      const r = await crabbox(["run", "--provider", "modal", "--modal-workdir", workdir, "--", "true"])
      expect(r.code, workdir).toBe(2)
      expect(r.stderr).toContain("modal.workdir")
    }
    const relative = await crabbox(["run", "--provider", "modal", "--", "true"], { CRABBOX_MODAL_WORKDIR: "work" })
    expect(relative.code).toBe(2)
    expect(fake.calls().length).toBe(before)
    const custom = await crabbox(["run", "--provider", "modal", "--modal-workdir", "/srv/project", "--", "pwd"])
    expect(custom.code).toBe(0)
    expect(custom.stdout.trim().endsWith("/srv/project")).toBe(true)
  })

  it("a repository config file may not choose modal.python; the user's config may", async () => {
    const other = makeRepo({ "crabbox.yaml": "provider: modal\nmodal:\n  python: /bin/false\n" })
    const refused = await runCrabbox(["run", "--", "true"], { cwd: other, env })
    expect(refused.code).toBe(2)
    expect(refused.stderr).toContain("modal.python")
    const configDir = join(env["XDG_CONFIG_HOME"]!, "crabbox")
    mkdirSync(configDir, { recursive: true })
    writeFileSync(join(configDir, "config.yaml"), "modal:\n  python: /nonexistent/python3\n")
    const userChoice = await crabbox(["run", "--provider", "modal", "--", "true"])
    expect(userChoice.code).toBe(3)
    expect(userChoice.stderr).toContain("/nonexistent/python3")
    writeFileSync(join(configDir, "config.yaml"), "{}\n")
  })

  it("without the modal package the run exits 3 with the install hint and leaves no claim", async () => {
    const r = await crabbox(["run", "--provider", "modal", "--", "true"], { PYTHONPATH: "/nonexistent" })
    expect(r.code).toBe(3)
    expect(r.stderr).toContain("pip install modal")
    const state = join(env["CRABBOX_STATE_DIR"]!, "claims")
    expect(existsSync(state) ? readdirSync(state).filter((n) => n.endsWith(".json")) : []).toEqual([])
  })
})

/**
 * Black-box runs of the real CLI against a real OpenSSH sshd on 127.0.0.1 with the
 * `ssh` provider: exit codes, streams, stdin, shell mode, env, keep/reuse, stop, keys.
 */
import { existsSync, mkdtempSync, readdirSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { isolatedEnv, makeRepo, runCrabbox } from "../support/cli.js"
import { makeKeyPair, startSshd, type TestSshd } from "../support/sshd.js"

describe("crabbox run --provider ssh (real sshd)", () => {
  let sshd: TestSshd
  let repo: string
  let workRoot: string
  let env: Record<string, string>
  const crabbox = (args: ReadonlyArray<string>, extra: Partial<Parameters<typeof runCrabbox>[1]> = {}) =>
    runCrabbox(args, { cwd: repo, env, ...extra })

  beforeAll(async () => {
    sshd = await startSshd()
    repo = makeRepo({ "README.md": "# demo\n", "scripts/hello.sh": "#!/bin/sh\necho hello from $(basename \"$PWD\")\n" })
    workRoot = mkdtempSync(join(tmpdir(), "crabbox-work-"))
    env = isolatedEnv({
      CRABBOX_SSH_HOST: "127.0.0.1",
      CRABBOX_SSH_PORT: String(sshd.port),
      CRABBOX_SSH_USER: sshd.user,
      CRABBOX_SSH_KEY: sshd.clientKey.privateKeyPath,
      CRABBOX_SSH_WORK_ROOT: workRoot
    })
  })
  afterAll(async () => { await sshd?.stop() })

  it("passes exit codes 0, 1 and 42 through", async () => {
    expect((await crabbox(["run", "--provider", "ssh", "--", "true"])).code).toBe(0)
    expect((await crabbox(["run", "--provider", "ssh", "--", "false"])).code).toBe(1)
    const r = await crabbox(["run", "--provider", "ssh", "--", "sh", "-c", "exit 42"])
    expect(r.code).toBe(42)
    expect(r.stderr).toContain("remote command exited 42")
  })

  it("keeps stdout and stderr apart and runs in the synced workdir", async () => {
    const r = await crabbox(["run", "--provider", "ssh", "--", "sh", "-c", "cat README.md; echo to-err >&2"])
    expect(r.code).toBe(0)
    expect(r.stdout).toBe("# demo\n")
    expect(r.stderr).toContain("to-err")
    expect(r.stdout).not.toContain("to-err")
  })

  it("streams 50 MB of output", async () => {
    const r = await crabbox(["run", "--provider", "ssh", "--", "head", "-c", "52428800", "/dev/zero"], { discardStdout: true })
    expect(r.code).toBe(0)
    expect(r.stdoutBytes).toBe(52428800)
  })

  it("forwards piped stdin", async () => {
    const r = await crabbox(["run", "--provider", "ssh", "--", "wc", "-c"], { input: "x".repeat(100_000) })
    expect(r.code).toBe(0)
    expect(r.stdout.trim()).toBe("100000")
  })

  it("runs shell mode, explicit and automatic", async () => {
    const explicit = await crabbox(["run", "--provider", "ssh", "--shell", "--", "echo", "a", "&&", "echo", "b"])
    expect(explicit.stdout).toBe("a\nb\n")
    const auto = await crabbox(["run", "--provider", "ssh", "--", "echo one | tr o O"])
    expect(auto.stdout).toBe("One\n")
    const argv = await crabbox(["run", "--provider", "ssh", "--", "printf", "%s|", "a b", "it's", "$HOME"])
    expect(argv.stdout).toBe("a b|it's|$HOME|")
  })

  it("forwards only allowlisted variables", async () => {
    const r = await crabbox(["run", "--provider", "ssh", "--allow-env", "CRABBOX_TEST_VAR", "--", "sh", "-c", "echo \"[$CRABBOX_TEST_VAR][$OTHER_VAR]\""],
      { env: { ...env, CRABBOX_TEST_VAR: "it's $x", OTHER_VAR: "nope" } })
    expect(r.code).toBe(0)
    expect(r.stdout).toBe("[it's $x][]\n")
  })

  it("keeps a lease, reuses it with --id, stops it and removes its workdir", async () => {
    const first = await crabbox(["run", "--provider", "ssh", "--keep", "--slug", "Reuse Me", "--", "sh", "-c", "echo kept > marker.txt"])
    expect(first.code).toBe(0)
    const list = JSON.parse((await crabbox(["list", "--provider", "ssh", "--json"])).stdout) as Array<{ leaseId: string; slug: string }>
    const lease = list.find((l) => l.slug === "reuse-me")
    expect(lease).toBeDefined()
    const again = await crabbox(["run", "--provider", "ssh", "--id", "reuse-me", "--", "cat", "marker.txt"])
    expect(again.code).toBe(0)
    expect(again.stdout).toBe("kept\n")
    const status = await crabbox(["status", "--provider", "ssh", "--json", lease!.leaseId])
    expect(JSON.parse(status.stdout)).toMatchObject({ leaseId: lease!.leaseId, ready: true, slug: "reuse-me" })
    const stop = await crabbox(["stop", "--provider", "ssh", "reuse-me"])
    expect(stop.code).toBe(0)
    expect(existsSync(join(workRoot, lease!.leaseId))).toBe(false)
    const after = JSON.parse((await crabbox(["list", "--provider", "ssh", "--json"])).stdout) as Array<unknown>
    expect(after.find((l) => (l as { leaseId: string }).leaseId === lease!.leaseId)).toBeUndefined()
  })

  it("--keep-on-failure keeps only a failed lease; --sync-only and --no-sync on it; --timing-json", async () => {
    const ok = await crabbox(["run", "--provider", "ssh", "--keep-on-failure", "--", "true"])
    expect(ok.stderr).toContain("lease cleanup stopped=true")
    const failed = await crabbox(["run", "--provider", "ssh", "--keep-on-failure", "--slug", "kept-on-failure", "--", "false"])
    expect(failed.code).toBe(1)
    expect(failed.stderr).toMatch(/lease kept lease=cbx_[0-9a-f]{12} slug=kept-on-failure; ssh: crabbox ssh --provider ssh .*--ssh-key/)
    const synced = await crabbox(["run", "--provider", "ssh", "--id", "kept-on-failure", "--sync-only"])
    expect(synced.code).toBe(0)
    expect(synced.stdout).toMatch(/^synced \/.*\/cbx_[0-9a-f]{12}\/\S+\n$/)
    const timed = await crabbox(["run", "--provider", "ssh", "--id", "kept-on-failure", "--no-sync", "--timing-json", "--", "cat", "README.md"])
    expect(timed.stdout).toBe("# demo\n")
    const timing = JSON.parse(timed.stderr.trim().split("\n").at(-1)!) as Record<string, unknown>
    expect(timing).toMatchObject({ provider: "ssh", slug: "kept-on-failure", exitCode: 0, runStatus: "succeeded", leaseStopped: false })
    expect((await crabbox(["run", "--provider", "ssh", "--sync-only"])).code).toBe(2)
    expect((await crabbox(["stop", "--provider", "ssh", "kept-on-failure"])).code).toBe(0)
  })

  it("refuses a --slug that another lease already uses (exit 2)", async () => {
    expect((await crabbox(["warmup", "--provider", "ssh", "--slug", "taken"])).code).toBe(0)
    const again = await crabbox(["warmup", "--provider", "ssh", "--slug", "TAKEN"])
    expect(again.code).toBe(2)
    expect(again.stderr).toMatch(/--slug taken is already used/)
    expect((await crabbox(["stop", "--provider", "ssh", "taken"])).code).toBe(0)
  })

  it("releases a fresh lease after the run: no workdir, no claim left", async () => {
    const r = await crabbox(["run", "--provider", "ssh", "--", "true"])
    expect(r.code).toBe(0)
    // the work root itself goes too once empty: the host is left as it was
    const leases = existsSync(workRoot) ? readdirSync(workRoot).filter((n) => n.startsWith("cbx_")) : []
    expect(leases).toEqual([])
    const claims = join(env.CRABBOX_STATE_DIR!, "claims")
    const leaseId = /leased (cbx_[0-9a-f]{12})/.exec(r.stderr)?.[1]
    expect(leaseId).toBeDefined()
    expect(existsSync(join(claims, `${leaseId}.json`))).toBe(false)
  })

  it("refuses a wrong key with exit 7", async () => {
    const wrong = makeKeyPair(mkdtempSync(join(tmpdir(), "crabbox-wrong-")), "wrong")
    const r = await crabbox(["run", "--provider", "ssh", "--ssh-key", wrong.privateKeyPath, "--", "true"])
    expect(r.code).toBe(7)
    expect(r.stderr).toMatch(/auth/)
  })

  it("refuses a changed host key for a kept lease (exit 7)", async () => {
    const warm = await crabbox(["warmup", "--provider", "ssh", "--slug", "pinned"])
    expect(warm.code).toBe(0)
    expect(warm.stdout).toMatch(/^leased cbx_[0-9a-f]{12} slug=pinned/m)
    await sshd.rotateHostKey()
    const r = await crabbox(["run", "--provider", "ssh", "--id", "pinned", "--", "true"])
    expect(r.code).toBe(7)
    expect(r.stderr).toMatch(/host key/)
  })
})

describe("bad input: one clear line, exit 2", () => {
  const repo = makeRepo()
  const env = isolatedEnv({ CRABBOX_SSH_HOST: "127.0.0.1", CRABBOX_SSH_PORT: "1" })
  const cases: ReadonlyArray<[string, ReadonlyArray<string>, RegExp]> = [
    ["unknown provider", ["run", "--provider", "nope", "--", "true"], /unknown provider "nope"/],
    ["unknown flag", ["run", "--bogus-flag", "--", "true"], /bogus-flag/],
    ["bad duration", ["run", "--ttl", "5 parsecs", "--", "true"], /ttl/],
    ["relative work root", ["run", "--ssh-work-root", "relative/dir", "--", "true"], /workRoot/],
    ["blank work root", ["run", "--ssh-work-root", " ", "--", "true"], /workRoot/],
    ["slug with nothing usable", ["run", "--slug", "!!!", "--", "true"], /--slug/],
    ["two identifiers to stop", ["stop", "--id", "a", "b"], /one identifier/],
    ["--emulator with --keep", ["run", "--emulator", "--keep", "--", "true"], /--emulator leases live only/],
    ["missing command", ["run", "--provider", "ssh"], /usage: crabbox run/]
  ]
  for (const [name, args, pattern] of cases) {
    it(name, async () => {
      const r = await runCrabbox(args, { cwd: repo, env })
      expect(r.code).toBe(2)
      expect(r.stderr.trim().split("\n")).toHaveLength(1)
      expect(r.stderr).toMatch(pattern)
    })
  }

  it("malformed YAML names the file and line", async () => {
    const bad = makeRepo()
    writeFileSync(join(bad, ".crabbox.yaml"), "provider: ssh\nssh:\n  host: [unclosed\n")
    const r = await runCrabbox(["list"], { cwd: bad, env })
    expect(r.code).toBe(2)
    expect(r.stderr).toContain(".crabbox.yaml")
    expect(r.stderr).toMatch(/:\d+|line \d+/)
  })
})

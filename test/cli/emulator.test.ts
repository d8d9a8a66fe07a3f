/**
 * The README's main job: `crabbox run --provider ssh --emulator -- <cmd>` on a machine with
 * no SSH server and no account. The whole flow runs for real against the in-process server.
 */
import { existsSync, mkdtempSync, readdirSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { describe, expect, it } from "vitest"
import { isolatedEnv, makeRepo, runCrabbox } from "../support/cli.js"

describe("crabbox run --emulator", () => {
  it("syncs, runs, passes the exit code through and leaves no lease behind", async () => {
    const repo = makeRepo({ "README.md": "# emulated\n", "run.sh": "echo ran in $(basename \"$PWD\")\n" })
    const env = isolatedEnv()
    const r = await runCrabbox(["run", "--provider", "ssh", "--emulator", "--", "sh", "-c", "cat README.md; sh run.sh; exit 5"], { cwd: repo, env })
    expect(r.code).toBe(5)
    expect(r.stdout).toContain("# emulated\n")
    expect(r.stdout).toMatch(/ran in \S+/)
    expect(r.stderr).toContain("lease cleanup stopped=true")
    const claims = join(env.CRABBOX_STATE_DIR!, "claims")
    expect(existsSync(claims) ? readdirSync(claims).filter((n) => n.endsWith(".json")) : []).toEqual([])
  })

  it("outside a git repository it fails (exit 6) before leasing anything", async () => {
    const dir = mkdtempSync(join(tmpdir(), "crabbox-not-git-"))
    const r = await runCrabbox(["run", "--provider", "ssh", "--emulator", "--", "true"], { cwd: dir, env: isolatedEnv() })
    expect(r.code).toBe(6)
    expect(r.stderr).toMatch(/not a git repository/)
    expect(r.stderr).not.toContain("leased")
  })

  it("refuses --emulator with another provider (exit 2)", async () => {
    const r = await runCrabbox(["run", "--provider", "freestyle", "--emulator", "--", "true"], { cwd: makeRepo(), env: isolatedEnv() })
    expect(r.code).toBe(2)
    expect(r.stderr).toMatch(/--emulator works with --provider ssh or --provider fal/)
  })
})

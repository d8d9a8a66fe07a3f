/**
 * Where does a sync spend its time? Runs crabbox under `node --cpu-prof` for an initial
 * and a no-change sync of a generated tree and prints the top self-time functions.
 *   npx vite-node bench/profile.ts
 */
import { execFileSync, spawnSync } from "node:child_process"
import { randomBytes } from "node:crypto"
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { dirname, join } from "node:path"
import { repoDir, isolatedEnv, makeRepo } from "../test/support/cli.js"
import { startSshd } from "../test/support/sshd.js"

interface Node { callFrame: { functionName: string; url: string; lineNumber: number }; hitCount: number; id: number }

const top = (file: string, n = 15) => {
  const prof = JSON.parse(readFileSync(file, "utf8")) as { nodes: Array<Node>; startTime: number; endTime: number }
  const total = prof.nodes.reduce((a, x) => a + x.hitCount, 0)
  const byFn = new Map<string, number>()
  for (const x of prof.nodes) {
    const key = `${x.callFrame.functionName || "(anon)"} ${x.callFrame.url.replace(/.*node_modules\//, "").replace(/.*\/dist\//, "dist/")}:${x.callFrame.lineNumber}`
    byFn.set(key, (byFn.get(key) ?? 0) + x.hitCount)
  }
  console.log(`  wall ${((prof.endTime - prof.startTime) / 1000).toFixed(0)} ms, samples ${total}`)
  for (const [k, v] of [...byFn].sort((a, b) => b[1] - a[1]).slice(0, n)) console.log(`  ${((100 * v) / total).toFixed(1).padStart(5)}%  ${k}`)
}

const main = async () => {
  const sshd = await startSshd()
  try {
    const repo = makeRepo({ "README.md": "x\n" })
    for (let i = 0; i < Number(process.env.PROF_FILES ?? 5000); i++) {
      const p = join(repo, `d${i % 50}`, `f${i}.bin`)
      mkdirSync(dirname(p), { recursive: true })
      writeFileSync(p, randomBytes(Number(process.env.PROF_BYTES ?? 20000)))
    }
    execFileSync("git", ["add", "-A"], { cwd: repo })
    const env = { ...process.env, ...isolatedEnv({ CRABBOX_PROVIDER: "ssh", CRABBOX_SSH_HOST: "127.0.0.1", CRABBOX_SSH_PORT: String(sshd.port),
      CRABBOX_SSH_USER: sshd.user, CRABBOX_SSH_KEY: sshd.clientKey.privateKeyPath, CRABBOX_SSH_WORK_ROOT: mkdtempSync(join(tmpdir(), "prof-work-")) }) }
    const bin = join(repoDir, "dist", "crabbox.cjs")
    execFileSync(process.execPath, [bin, "warmup", "--slug", "prof"], { cwd: repo, env, stdio: "ignore" })
    for (const phase of ["initial", "no-change"]) {
      const dir = mkdtempSync(join(tmpdir(), `prof-${phase}-`))
      const t = Date.now()
      const r = spawnSync(process.execPath, ["--cpu-prof", `--cpu-prof-dir=${dir}`, bin, "run", "--id", "prof", "--sync-only"], { cwd: repo, env })
      console.log(`${phase}: exit ${r.status} in ${Date.now() - t} ms; ${r.stderr.toString().trim().split("\n").join(" | ")}`)
      top(join(dir, readdirSync(dir)[0]!))
    }
  } finally {
    await sshd.stop()
  }
}
main().catch((e) => { console.error(e); process.exitCode = 1 })

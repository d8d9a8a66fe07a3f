/**
 * Benchmarks (not tests): crabbox against OpenSSH and rsync, side by side, on loopback
 * against a throwaway sshd. Prints figures and ratios; asserts nothing.
 *
 *   npm run bench            (needs openssh-server and rsync; see .ci/run)
 *   BENCH_RUNS=20 npm run bench
 */
import { execFileSync, spawnSync } from "node:child_process"
import { randomBytes } from "node:crypto"
import { appendFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { dirname, join } from "node:path"
import { performance } from "node:perf_hooks"
import { crabboxBin, isolatedEnv, makeRepo } from "../test/support/cli.js"
import { startSshd } from "../test/support/sshd.js"

const RUNS = Number(process.env.BENCH_RUNS ?? 10)
const FILES = Number(process.env.BENCH_FILES ?? 5000)
const TOTAL_BYTES = Number(process.env.BENCH_BYTES ?? 100 * 1024 * 1024)

const time = (cmd: string, args: ReadonlyArray<string>, opts: { cwd?: string; env?: Record<string, string> } = {}): number => {
  const start = performance.now()
  const r = spawnSync(cmd, args, { cwd: opts.cwd, env: opts.env ?? process.env as Record<string, string>, stdio: ["ignore", "ignore", "pipe"] })
  const ms = performance.now() - start
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(" ")} exited ${r.status}: ${r.stderr?.toString().slice(-2000)}`)
  return ms
}

const median = (xs: ReadonlyArray<number>) => {
  const s = [...xs].sort((a, b) => a - b)
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2
}
const repeat = (n: number, f: () => number) => median(Array.from({ length: n }, f))
const fmt = (ms: number) => `${ms.toFixed(1)} ms`
const rows: Array<[string, string, string, string]> = []
const row = (name: string, ours: number, theirs: number | undefined, label: string) =>
  rows.push([name, fmt(ours), theirs === undefined ? "-" : `${fmt(theirs)} (${label})`, theirs === undefined ? "-" : `${(ours / theirs).toFixed(2)}x`])

const generateTree = (root: string) => {
  const per = Math.floor(TOTAL_BYTES / FILES)
  for (let i = 0; i < FILES; i++) {
    const path = join(root, `d${i % 50}`, `sub${i % 7}`, `file-${i}.txt`)
    mkdirSync(dirname(path), { recursive: true })
    // half random (incompressible), half text: a middle ground for rsync's -z
    writeFileSync(path, Buffer.concat([randomBytes(per / 2), Buffer.from("x".repeat(per / 2))]))
  }
  const git = (...a: Array<string>) => execFileSync("git", a, { cwd: root, stdio: "ignore" })
  git("add", "-A")
  git("-c", "user.email=b@example.invalid", "-c", "user.name=b", "commit", "-qm", "tree")
}

const main = async () => {
  const sshd = await startSshd()
  try {
    const work = mkdtempSync(join(tmpdir(), "crabbox-bench-"))
    const env = isolatedEnv({
      CRABBOX_PROVIDER: "ssh",
      CRABBOX_SSH_HOST: "127.0.0.1",
      CRABBOX_SSH_PORT: String(sshd.port),
      CRABBOX_SSH_USER: sshd.user,
      CRABBOX_SSH_KEY: sshd.clientKey.privateKeyPath,
      CRABBOX_SSH_WORK_ROOT: join(work, "crabbox")
    })
    const fullEnv = { ...process.env as Record<string, string>, ...env }
    const crabbox = (args: ReadonlyArray<string>, cwd: string) => time(process.execPath, [crabboxBin, ...args], { cwd, env: fullEnv })
    const sshBase = ["-i", sshd.clientKey.privateKeyPath, "-p", String(sshd.port), "-o", "BatchMode=yes",
      "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null", "-o", "LogLevel=ERROR"]
    const target = `${sshd.user}@127.0.0.1`

    // 1. warm run overhead
    const small = makeRepo()
    execFileSync(process.execPath, [crabboxBin, "warmup", "--slug", "bench-warm"], { cwd: small, env: fullEnv, stdio: "ignore" })
    crabbox(["run", "--id", "bench-warm", "--", "true"], small)
    const warm = repeat(RUNS, () => crabbox(["run", "--id", "bench-warm", "--", "true"], small))
    const ssh = repeat(RUNS, () => time("ssh", [...sshBase, target, "true"]))
    row("warm run -- true", warm, ssh, "ssh host true")

    // 2. sync of a generated tree
    const big = makeRepo({ "README.md": "# bench\n" })
    generateTree(big)
    execFileSync(process.execPath, [crabboxBin, "warmup", "--slug", "bench-sync"], { cwd: big, env: fullEnv, stdio: "ignore" })
    const rsyncDest = join(work, "rsync-dest")
    const rsync = () => time("rsync", ["-az", "--delete", "-e", `ssh ${sshBase.join(" ")}`, `${big}/`, `${target}:${rsyncDest}/`])
    const initialOurs = crabbox(["run", "--id", "bench-sync", "--sync-only"], big)
    const initialRsync = rsync()
    row(`initial sync ${FILES} files / ${(TOTAL_BYTES / 1048576).toFixed(0)} MiB`, initialOurs, initialRsync, "rsync -az")
    const touched = join(big, "d1", "sub1", "file-1.txt")
    const resyncOurs = repeat(Math.min(RUNS, 5), () => {
      appendFileSync(touched, "change\n")
      return crabbox(["run", "--id", "bench-sync", "--sync-only"], big)
    })
    const resyncRsync = repeat(Math.min(RUNS, 5), () => {
      appendFileSync(touched, "change\n")
      return rsync()
    })
    row("1-file re-sync", resyncOurs, resyncRsync, "rsync -az")
    const noChange = repeat(Math.min(RUNS, 5), () => crabbox(["run", "--id", "bench-sync", "--sync-only"], big))
    const noChangeRsync = repeat(Math.min(RUNS, 5), rsync)
    row("no-change re-sync", noChange, noChangeRsync, "rsync -az")

    // 3. cold start
    const help = repeat(RUNS, () => crabbox(["--help"], small))
    const nodeBare = repeat(RUNS, () => time(process.execPath, ["-e", "0"]))
    row("crabbox --help (cold start)", help, nodeBare, "node -e 0")

    for (const slug of ["bench-warm", "bench-sync"]) {
      spawnSync(process.execPath, [crabboxBin, "stop", slug], { cwd: slug === "bench-warm" ? small : big, env: fullEnv, stdio: "ignore" })
    }
    rmSync(work, { recursive: true, force: true })
    rmSync(big, { recursive: true, force: true })
  } finally {
    await sshd.stop()
  }
  const widths = [0, 1, 2, 3].map((i) => Math.max(...[["benchmark", "crabbox", "baseline", "ratio"], ...rows].map((r) => r[i]!.length)))
  for (const r of [["benchmark", "crabbox", "baseline", "ratio"], ...rows]) {
    console.log(r.map((c, i) => c.padEnd(widths[i]!)).join("  "))
  }
  console.log(`(median of ${RUNS} runs; re-sync rows median of ${Math.min(RUNS, 5)}; loopback sshd; node ${process.version})`)
}

main().catch((e) => {
  console.error(e instanceof Error ? e.message : e)
  process.exitCode = 1
})

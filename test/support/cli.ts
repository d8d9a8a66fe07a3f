/** Drive the real CLI as a child process (the built `bin/crabbox`), as a user would. */
import { execFileSync, spawn } from "node:child_process"
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { dirname, join, resolve } from "node:path"
import { fileURLToPath } from "node:url"

export const repoDir = resolve(dirname(fileURLToPath(import.meta.url)), "../..")
export const crabboxBin = join(repoDir, "bin", "crabbox")

export interface CliResult {
  readonly code: number
  readonly stdout: string
  readonly stderr: string
  /** bytes seen on stdout (counted, also when not kept) */
  readonly stdoutBytes: number
}

export interface CliOptions {
  readonly cwd: string
  readonly env: Readonly<Record<string, string>>
  /** written to stdin, then stdin is closed; default: stdin closed at once */
  readonly input?: string | Buffer
  /** count stdout bytes without keeping them (large output tests) */
  readonly discardStdout?: boolean
  readonly timeoutMs?: number
}

export const runCrabbox = (args: ReadonlyArray<string>, options: CliOptions): Promise<CliResult> =>
  new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, [crabboxBin, ...args], {
      cwd: options.cwd,
      env: { PATH: process.env.PATH ?? "/usr/bin:/bin", ...options.env },
      stdio: ["pipe", "pipe", "pipe"]
    })
    const out: Array<Buffer> = []
    const err: Array<Buffer> = []
    let stdoutBytes = 0
    child.stdout.on("data", (d: Buffer) => {
      stdoutBytes += d.length
      if (!options.discardStdout) out.push(d)
    })
    child.stderr.on("data", (d: Buffer) => err.push(d))
    const timer = setTimeout(() => child.kill("SIGKILL"), options.timeoutMs ?? 60_000)
    child.on("error", reject)
    child.on("close", (code, signal) => {
      clearTimeout(timer)
      resolvePromise({
        code: code ?? (signal ? 128 : -1),
        stdout: Buffer.concat(out).toString("utf8"),
        stderr: Buffer.concat(err).toString("utf8"),
        stdoutBytes
      })
    })
    if (options.input !== undefined) child.stdin.end(options.input)
    else child.stdin.end()
  })

/** A fresh git repo with a couple of files, in its own temp dir. */
export const makeRepo = (files: Record<string, string> = { "README.md": "# demo\n", "src/main.sh": "echo main\n" }): string => {
  const dir = mkdtempSync(join(tmpdir(), "crabbox-repo-"))
  for (const [path, content] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, path)), { recursive: true })
    writeFileSync(join(dir, path), content)
  }
  const git = (...a: Array<string>) => execFileSync("git", a, { cwd: dir, stdio: "ignore" })
  git("init", "-q")
  git("add", "-A")
  git("-c", "user.email=t@example.invalid", "-c", "user.name=t", "commit", "-qm", "init")
  return dir
}

/** An isolated HOME + state dir, so no test reads or writes the user's real config. */
export const isolatedEnv = (extra: Record<string, string> = {}): Record<string, string> => {
  const home = mkdtempSync(join(tmpdir(), "crabbox-home-"))
  return {
    HOME: home,
    USER: process.env.USER ?? "root",
    XDG_CONFIG_HOME: join(home, ".config"),
    CRABBOX_STATE_DIR: join(home, "state"),
    ...extra
  }
}

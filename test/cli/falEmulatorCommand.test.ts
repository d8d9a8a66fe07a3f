/**
 * `crabbox emulator fal` as a user runs it: it prints where it listens (one JSON line with
 * --json), serves the API and SSH until Ctrl-C, and then leaves nothing behind.
 */
import { spawn, type ChildProcessWithoutNullStreams } from "node:child_process"
import { existsSync, mkdtempSync, readdirSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Client } from "ssh2"
import { describe, expect, it } from "vitest"
import { generateEd25519KeyPair } from "../../src/adapters/shared/ed25519KeyPair.js"
import { crabboxBin, isolatedEnv, runCrabbox } from "../support/cli.js"

interface Served {
  readonly child: ChildProcessWithoutNullStreams
  /** the first stdout lines, once `until` matched */
  readonly stdout: string
  readonly stderr: () => string
  readonly exited: Promise<number | null>
}

/** Starts `crabbox emulator fal ...` with its own TMPDIR and waits for its stdout to match `until`. */
const serve = (args: ReadonlyArray<string>, tmp: string, until: RegExp): Promise<Served> =>
  new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [crabboxBin, "emulator", "fal", ...args], {
      env: { PATH: process.env.PATH ?? "/usr/bin:/bin", ...isolatedEnv(), TMPDIR: tmp },
      stdio: "pipe"
    })
    let out = ""
    let err = ""
    const exited = new Promise<number | null>((done) => child.on("close", (code) => done(code)))
    const timer = setTimeout(() => {
      child.kill("SIGKILL")
      reject(new Error(`no match for ${until} in ${JSON.stringify(out)} (stderr ${JSON.stringify(err)})`))
    }, 20_000)
    child.stderr.on("data", (d: Buffer) => { err += d.toString() })
    child.stdout.on("data", (d: Buffer) => {
      out += d.toString()
      if (until.test(out)) {
        clearTimeout(timer)
        resolve({ child, stdout: out, stderr: () => err, exited })
      }
    })
    void exited.then((code) => {
      clearTimeout(timer)
      reject(new Error(`exited with ${code} before printing ${until}: ${err}`))
    })
  })

const sshRun = (host: string, port: number, privateKey: string, command: string) =>
  new Promise<string>((resolve, reject) => {
    const client = new Client()
    client.on("error", reject)
    client.on("ready", () => client.exec(command, (err, channel) => {
      if (err) return reject(err)
      let out = ""
      channel.on("data", (d: Buffer) => { out += d.toString() })
      channel.on("close", () => {
        client.end()
        resolve(out)
      })
    }))
    client.connect({ host, port, username: "ubuntu", privateKey, readyTimeout: 10_000 })
  })

describe("crabbox emulator fal", () => {
  it("--json prints one parseable line, serves API and SSH, and Ctrl-C leaves no temp dir", async () => {
    const tmp = mkdtempSync(join(tmpdir(), "crabbox-fal-cli-"))
    const served = await serve(["--json", "--ready-delay", "0", "--fault", "fail:list:503:1"], tmp, /\n/)
    try {
      const info = JSON.parse(served.stdout.split("\n")[0]!) as {
        apiUrl: string; adminUrl: string; sshHost: string; sshPort: number; root: string; faults: Array<string>
        env: Record<string, string>
      }
      expect(info.apiUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/v1$/)
      expect(info.sshHost).toBe("127.0.0.1")
      expect(info.faults).toEqual(["fail:list:503:1"])
      expect(info.env).toEqual({ CRABBOX_FAL_API_URL: info.apiUrl, CRABBOX_SSH_PORT: String(info.sshPort), FAL_KEY: "emulator-key" })
      expect(info.root.startsWith(tmp) || info.root.startsWith(join(tmp, "/"))).toBe(true)

      const key = `Key ${info.env.FAL_KEY}`
      const pair = generateEd25519KeyPair("fal-emulator-cli")
      const created = await fetch(`${info.apiUrl}/compute/instances`, {
        method: "POST",
        headers: { authorization: key, "content-type": "application/json" },
        body: JSON.stringify({ instance_type: "gpu_1x_h100_sxm5", ssh_key: pair.public })
      })
      expect(created.status).toBe(201)
      const id = ((await created.json()) as { id: string }).id
      expect((await fetch(`${info.apiUrl}/compute/instances`, { headers: { authorization: key } })).status).toBe(503)
      expect((await fetch(`${info.apiUrl}/compute/instances/${id}`, { headers: { authorization: key } })).status).toBe(200)
      const out = await sshRun(info.sshHost, info.sshPort, pair.private,
        // the second spelling escapes the mapping: a broken one must not write to this machine's /home/ubuntu
        "[ /home/ubuntu != /home/ub\"\"untu ] || exit 99; mkdir -p /home/ubuntu/crabbox && echo hi > /home/ubuntu/crabbox/f && cat /home/ubuntu/crabbox/f")
      expect(out).toBe("hi\n")
      expect(existsSync(join(info.root, "instances", id, "crabbox", "f"))).toBe(true)
      expect(served.stderr()).toContain("POST /v1/compute/instances -> 201")
      expect(served.stderr()).not.toContain("emulator-key")

      served.child.kill("SIGINT")
      const code = await served.exited
      expect([0, 130]).toContain(code)
      expect(existsSync(info.root)).toBe(false)
      expect(readdirSync(tmp)).toEqual([])
    } finally {
      served.child.kill("SIGKILL")
      rmSync(tmp, { recursive: true, force: true })
    }
  })

  it("prints the env lines to use without --json", async () => {
    const tmp = mkdtempSync(join(tmpdir(), "crabbox-fal-cli-"))
    const served = await serve([], tmp, /Ctrl-C/)
    try {
      expect(served.stdout).toMatch(/^CRABBOX_FAL_API_URL=http:\/\/127\.0\.0\.1:\d+\/v1 CRABBOX_SSH_PORT=\d+ FAL_KEY=\S+$/m)
      served.child.kill("SIGINT")
      expect([0, 130]).toContain(await served.exited)
      expect(readdirSync(tmp)).toEqual([])
    } finally {
      served.child.kill("SIGKILL")
      rmSync(tmp, { recursive: true, force: true })
    }
  })

  it("refuses a malformed --fault or port with exit 2 and serves nothing", async () => {
    const env = isolatedEnv()
    const fault = await runCrabbox(["emulator", "fal", "--fault", "explode:now"], { cwd: tmpdir(), env })
    expect(fault.code).toBe(2)
    expect(fault.stderr).toMatch(/--fault "explode:now": unknown fault/)
    const port = await runCrabbox(["emulator", "fal", "--port", "70000"], { cwd: tmpdir(), env })
    expect(port.code).toBe(2)
    expect(port.stderr).toMatch(/--port 70000 is not a port/)
    const delay = await runCrabbox(["emulator", "fal", "--ready-delay", "soon"], { cwd: tmpdir(), env })
    expect(delay.code).toBe(2)
  })
})

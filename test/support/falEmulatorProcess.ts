/** `crabbox emulator fal --json` as a child process, plus its admin endpoints (127.0.0.1 only). */
import { spawn, type ChildProcess } from "node:child_process"
import { crabboxBin } from "./cli.js"

export interface EmulatorInstance {
  readonly id: string
  readonly status: string
  readonly deleted: boolean
  readonly sector?: string
}

export interface EmulatorRequest {
  readonly method: string
  readonly path: string
  readonly operation: string
  readonly headers: ReadonlyArray<string>
  readonly authorization: string
  readonly idempotencyKey?: string
  readonly contentType?: string
  readonly accept?: string
  readonly body?: unknown
  readonly status: number | "dropped"
}

export interface EmulatorProcess {
  readonly apiUrl: string
  readonly adminUrl: string
  readonly sshPort: number
  readonly instances: () => Promise<ReadonlyArray<EmulatorInstance>>
  readonly requests: () => Promise<ReadonlyArray<EmulatorRequest>>
  readonly setFaults: (faults: ReadonlyArray<string>) => Promise<void>
  readonly stop: () => Promise<void>
}

const getJson = async (url: string): Promise<unknown> => {
  const response = await fetch(url)
  if (!response.ok) throw new Error(`${url}: ${response.status}`)
  return response.json()
}

const listOf = <A>(body: unknown, key: string): ReadonlyArray<A> =>
  Array.isArray(body) ? (body as Array<A>) : ((body as Record<string, Array<A>>)[key] ?? [])

export const startEmulatorProcess = (args: ReadonlyArray<string> = []): Promise<EmulatorProcess> =>
  new Promise((resolve, reject) => {
    const child: ChildProcess = spawn(process.execPath, [crabboxBin, "emulator", "fal", "--json", ...args], {
      env: { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: process.env.HOME ?? "/tmp" },
      stdio: ["ignore", "pipe", "pipe"]
    })
    let out = ""
    child.on("error", reject)
    child.on("exit", (code) => reject(new Error(`emulator exited ${code} before it started`)))
    child.stdout!.on("data", (d: Buffer) => {
      out += d.toString()
      const line = out.split("\n")[0]
      if (!out.includes("\n") || line === undefined) return
      const info = JSON.parse(line) as { apiUrl: string; adminUrl: string; sshPort: number }
      child.removeAllListeners("exit")
      resolve({
        ...info,
        instances: async () => listOf<EmulatorInstance>(await getJson(`${info.adminUrl}/instances`), "instances"),
        requests: async () => listOf<EmulatorRequest>(await getJson(`${info.adminUrl}/requests`), "requests"),
        setFaults: async (faults) => {
          const response = await fetch(`${info.adminUrl}/faults`, {
            method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ faults, replace: true })
          })
          if (!response.ok) throw new Error(`faults ${faults.join(" ")}: ${response.status} ${await response.text()}`)
        },
        stop: () => new Promise<void>((done) => {
          child.on("exit", () => done())
          child.kill("SIGINT")
        })
      })
    })
  })

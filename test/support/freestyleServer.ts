/**
 * A local stand-in for Freestyle's v1 VM API (reference: freestyle-api.md), served by
 * node:http on 127.0.0.1. Each VM is a directory; exec-await really runs the command with
 * bash, with `/workspace` and `/tmp` mapped into that directory, so tar, base64, mv and
 * the user's command all run for real. Every request is recorded for assertions; faults
 * are switched on per test through `faults`.
 */
import { spawn } from "node:child_process"
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { createServer, type IncomingMessage, type ServerResponse } from "node:http"
import type { AddressInfo } from "node:net"
import { tmpdir } from "node:os"
import { dirname, join } from "node:path"

export interface RecordedRequest {
  readonly method: string
  /** path and query as received (escapes kept) */
  readonly url: string
  readonly headers: Readonly<Record<string, string | Array<string> | undefined>>
  readonly body: unknown
}

export interface ServerVm {
  readonly id: string
  readonly name: string
  state: string
  readonly root: string
}

export interface FreestyleFaults {
  /** PUT /files answers this status (the file API is unavailable) */
  fileApiStatus?: number
  /** answer create with this status and JSON body */
  createError?: { readonly status: number; readonly body: unknown }
  /** create waits this long before it makes the VM and answers (the client may be gone by then) */
  createDelayMs?: number
  /** create makes the VM, then drops the connection without an answer (a reset after the request was sent) */
  createReset?: boolean
  /** listing VMs answers this status and JSON body */
  listError?: { readonly status: number; readonly body: unknown }
  /** an exec whose command matches fails with this status (HTTP level); `echoCommand` puts the command in the message */
  execHttpError?: { readonly match: RegExp; readonly status: number; readonly body?: unknown; readonly echoCommand?: boolean }
  /** an exec whose command matches exits with this code without running */
  execExit?: { readonly match: RegExp; readonly code: number; readonly stderr?: string }
  /** exec answers without `statusCode` */
  omitStatusCode?: boolean
  /** every request under this path prefix is redirected to `location` with `status` */
  redirect?: { readonly pathPrefix: string; readonly location: string; readonly status: number }
  /** a deleted or unknown VM: 404 (default) or Freestyle's 500 VM_DELETED */
  missingVm?: "404" | "500"
  /** error bodies echo the request's Authorization header (a careless server) */
  echoAuthInErrors?: boolean
}

export interface FreestyleServer {
  readonly url: string
  readonly key: string
  readonly requests: Array<RecordedRequest>
  readonly vms: Map<string, ServerVm>
  readonly faults: FreestyleFaults
  /** add a VM the client did not create (a foreign one, or a crabbox one whose claim was lost) */
  readonly addVm: (name: string, state?: string) => ServerVm
  readonly close: () => Promise<void>
}

const json = (res: ServerResponse, status: number, body: unknown) => {
  const text = JSON.stringify(body)
  res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(text) })
  res.end(text)
}

const readBody = (req: IncomingMessage): Promise<string> =>
  new Promise((resolve, reject) => {
    const parts: Array<Buffer> = []
    req.on("data", (d: Buffer) => parts.push(d))
    req.on("end", () => resolve(Buffer.concat(parts).toString("utf8")))
    req.on("error", reject)
  })

/** `/workspace/x` and `/tmp/x` in a command become paths inside the VM's directory. */
const mapPaths = (command: string, root: string) =>
  command.replace(/(^|[\s'"=;(])\/(workspace|tmp)(?=[/\s'"]|$)/g, (_, before: string, dir: string) => `${before}${root}/${dir}`)

const runBash = (command: string, root: string, timeoutMs: number | undefined) =>
  new Promise<{ stdout: string; stderr: string; code: number | null; timedOut: boolean }>((resolve) => {
    const child = spawn("bash", ["-c", mapPaths(command, root)], {
      cwd: root, detached: true,
      env: { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: join(root, "home"), LANG: "C" }
    })
    const out: Array<Buffer> = []
    const err: Array<Buffer> = []
    child.stdout.on("data", (d: Buffer) => out.push(d))
    child.stderr.on("data", (d: Buffer) => err.push(d))
    let timedOut = false
    const timer = timeoutMs === undefined ? undefined : setTimeout(() => {
      timedOut = true
      try {
        process.kill(-child.pid!, "SIGKILL")
      } catch {
        // already gone
      }
    }, timeoutMs)
    child.on("close", (code) => {
      if (timer) clearTimeout(timer)
      resolve({ stdout: Buffer.concat(out).toString("utf8"), stderr: Buffer.concat(err).toString("utf8"), code, timedOut })
    })
  })

let counter = 0
const newId = () => `vm${process.pid.toString(36)}${(counter++).toString(36)}${Math.random().toString(36).slice(2, 8)}`

export const startFreestyleServer = async (options: { readonly key: string; readonly faults?: FreestyleFaults }): Promise<FreestyleServer> => {
  const base = mkdtempSync(join(tmpdir(), "crabbox-freestyle-"))
  const vms = new Map<string, ServerVm>()
  const requests: Array<RecordedRequest> = []
  const faults: FreestyleFaults = { ...options.faults }

  const addVm = (name: string, state = "running"): ServerVm => {
    const id = newId()
    const root = join(base, id)
    for (const dir of ["workspace", "tmp", "home"]) mkdirSync(join(root, dir), { recursive: true })
    const vm = { id, name, state, root }
    vms.set(id, vm)
    return vm
  }

  const fail = (req: IncomingMessage, res: ServerResponse, status: number, error: string, message: string) =>
    json(res, status, { error, message: faults.echoAuthInErrors ? `${message} (got ${String(req.headers.authorization)})` : message })

  const missing = (req: IncomingMessage, res: ServerResponse) =>
    faults.missingVm === "500" ? fail(req, res, 500, "VM_DELETED", "vm was deleted") : fail(req, res, 404, "VM_NOT_FOUND", "no such vm")

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const text = await readBody(req)
    let body: unknown = undefined
    try {
      body = text === "" ? undefined : JSON.parse(text)
    } catch {
      body = text
    }
    const rawUrl = req.url ?? "/"
    requests.push({ method: req.method ?? "", url: rawUrl, headers: { ...req.headers }, body })
    const url = new URL(rawUrl, "http://127.0.0.1")
    if (faults.redirect && url.pathname.startsWith(faults.redirect.pathPrefix)) {
      res.writeHead(faults.redirect.status, { location: faults.redirect.location })
      return res.end()
    }
    if (req.headers.authorization !== `Bearer ${options.key}`) return fail(req, res, 401, "UNAUTHORIZED", "invalid api key")
    const parts = url.pathname.split("/").filter((p) => p !== "")
    if (parts[0] !== "v1" || parts[1] !== "vms") return fail(req, res, 404, "NOT_FOUND", "no route")
    const vm = parts[2] === undefined ? undefined : vms.get(decodeURIComponent(parts[2]))

    if (parts.length === 2 && req.method === "POST") {
      if (faults.createError) return json(res, faults.createError.status, faults.createError.body)
      if (faults.createDelayMs !== undefined) await new Promise((resolve) => setTimeout(resolve, faults.createDelayMs))
      const created = addVm(String((body as { name?: unknown })?.name ?? ""))
      if (faults.createReset) return req.socket.destroy()
      return json(res, 200, { id: created.id, domains: [`${created.id}.style.dev`], consoleUrl: null })
    }
    if (parts.length === 2 && req.method === "GET") {
      if (faults.listError) return json(res, faults.listError.status, faults.listError.body)
      const limit = Number(url.searchParams.get("limit") ?? 100)
      const offset = Number(url.searchParams.get("offset") ?? 0)
      const all = [...vms.values()]
      const page = all.slice(offset, offset + limit).map((v) => ({ id: v.id, name: v.name, state: v.state }))
      return json(res, 200, { vms: page, totalCount: all.length, runningCount: all.length, startingCount: 0, suspendedCount: 0, stoppedCount: 0 })
    }
    if (vm === undefined) return missing(req, res)
    if (parts.length === 3 && req.method === "GET") return json(res, 200, { id: vm.id, name: vm.name, state: vm.state })
    if (parts.length === 3 && req.method === "DELETE") {
      vms.delete(vm.id)
      rmSync(vm.root, { recursive: true, force: true })
      return json(res, 200, { id: vm.id })
    }
    if (parts[3] === "exec-await" && req.method === "POST") {
      const { command, timeoutMs } = body as { command: string; timeoutMs?: number }
      if (faults.execHttpError?.match.test(command)) {
        return json(res, faults.execHttpError.status, faults.execHttpError.body ??
          { error: "INTERNAL_ERROR", message: faults.execHttpError.echoCommand ? `exec failed: ${command}` : "exec failed" })
      }
      if (faults.execExit?.match.test(command)) {
        return json(res, 200, { stdout: "", stderr: faults.execExit.stderr ?? "", statusCode: faults.execExit.code })
      }
      const result = await runBash(command, vm.root, timeoutMs)
      if (result.timedOut) return fail(req, res, 408, "EXEC_TIMED_OUT", "exec timed out")
      return json(res, 200, faults.omitStatusCode
        ? { stdout: result.stdout, stderr: result.stderr }
        : { stdout: result.stdout, stderr: result.stderr, statusCode: result.code ?? 137 })
    }
    if (parts[3] === "files" && req.method === "PUT") {
      if (faults.fileApiStatus !== undefined) return fail(req, res, faults.fileApiStatus, "FILES_UNAVAILABLE", "file api unavailable")
      const path = decodeURIComponent(parts.slice(4).join("/"))
      const mapped = mapPaths(` ${path}`, vm.root).slice(1)
      if (!mapped.startsWith(vm.root)) return fail(req, res, 400, "FILES_BAD_REQUEST", "path outside the vm")
      const { content, encoding } = body as { content: string; encoding?: string }
      mkdirSync(dirname(mapped), { recursive: true })
      writeFileSync(mapped, encoding === "base64" ? Buffer.from(content, "base64") : Buffer.from(content, "utf8"))
      return json(res, 200, {})
    }
    return fail(req, res, 404, "NOT_FOUND", "no route")
  }

  const server = createServer((req, res) => {
    handle(req, res).catch((e: unknown) => json(res, 500, { error: "INTERNAL_ERROR", message: String(e) }))
  })
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
  const port = (server.address() as AddressInfo).port
  return {
    url: `http://127.0.0.1:${port}`,
    key: options.key,
    requests,
    vms,
    faults,
    addVm,
    close: () => new Promise((resolve) => {
      server.closeAllConnections()
      server.close(() => {
        rmSync(base, { recursive: true, force: true })
        resolve()
      })
    })
  }
}

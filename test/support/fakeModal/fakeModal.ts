/**
 * The fake `modal` package (modal/__init__.py beside this file) as tests use it: a
 * state root per test, the environment that puts it on PYTHONPATH, and readers for what
 * it recorded (processes with their argv, creates, uploads, execs) and for the files of
 * each sandbox.
 */
import { Command, CommandExecutor } from "@effect/platform"
import { Effect, Layer } from "effect"
import { existsSync, mkdtempSync, readdirSync, readFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { dirname, join } from "node:path"
import { fileURLToPath } from "node:url"

export const fakeModalPath = dirname(fileURLToPath(import.meta.url))

export interface FakeCall {
  readonly kind: "process" | "create" | "upload" | "exec" | "terminate" | "app-created"
  readonly argv?: ReadonlyArray<string>
  readonly tokenInEnv?: boolean
  readonly sandbox?: string
  readonly remote?: string
  readonly timeout?: number | null
  readonly workdir?: string | null
  readonly image?: string | null
  readonly tagsAtCreate?: boolean
}

export interface FakeSandboxState {
  readonly id: string
  readonly app_id: string
  readonly image: string | null
  readonly timeout: number
  readonly workdir: string | null
  readonly tags: Readonly<Record<string, string>>
  readonly terminated: boolean
}

export interface FakeModal {
  readonly root: string
  /** what the Python child needs: the fake on PYTHONPATH and its state root */
  readonly env: Readonly<Record<string, string>>
  readonly calls: () => ReadonlyArray<FakeCall>
  readonly sandboxes: () => ReadonlyArray<FakeSandboxState>
  /** where a sandbox path lives on this machine */
  readonly hostPath: (sandboxId: string, remotePath: string) => string
}

export const makeFakeModal = (options: { readonly faults?: ReadonlyArray<string> } = {}): FakeModal => {
  const root = mkdtempSync(join(tmpdir(), "crabbox-fake-modal-"))
  const sandboxesDir = join(root, "sandboxes")
  return {
    root,
    env: {
      PYTHONPATH: fakeModalPath,
      FAKE_MODAL_ROOT: root,
      FAKE_MODAL_FAULTS: (options.faults ?? []).join(",")
    },
    calls: () => {
      const log = join(root, "calls.jsonl")
      return existsSync(log)
        ? readFileSync(log, "utf8").split("\n").filter((l) => l !== "").map((l) => JSON.parse(l) as FakeCall)
        : []
    },
    sandboxes: () => existsSync(sandboxesDir)
      ? readdirSync(sandboxesDir).sort().map((id) => JSON.parse(readFileSync(join(sandboxesDir, id, "state.json"), "utf8")) as FakeSandboxState)
      : [],
    hostPath: (sandboxId, remotePath) => join(sandboxesDir, sandboxId, "fs", remotePath)
  }
}

/** Every command a wrapped executor started: program and arguments, and the extra environment it was given. */
export interface SpawnRecord {
  readonly argv: ReadonlyArray<string>
}

/**
 * Wraps the real CommandExecutor: records the argv of every process started, and adds
 * `env` to each (so a test needs no global process.env change).
 */
export const recordingExecutor = (env: Readonly<Record<string, string>>, spawned: Array<SpawnRecord>) =>
  Layer.effect(CommandExecutor.CommandExecutor, Effect.gen(function* () {
    const inner = yield* CommandExecutor.CommandExecutor
    return CommandExecutor.makeExecutor((command) => {
      for (const c of Command.flatten(command)) spawned.push({ argv: [c.command, ...c.args] })
      return inner.start(Command.env(command, env))
    })
  }))

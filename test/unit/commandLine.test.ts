import { afterAll, assert, describe, it } from "@effect/vitest"
import { execFileSync } from "node:child_process"
import { mkdirSync, mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { looksLikeShell, wrapCommand } from "../../src/domain/commandLine.js"

describe("wrapCommand: the line it builds", () => {
  it("quotes every argv word and repeats the cd inside the login shell", () => {
    const { command, shellMode } = wrapCommand({ workdir: "/work/crabbox/repo", argv: ["npm", "test"], shell: false })
    assert.isFalse(shellMode)
    assert.strictEqual(
      command,
      `cd '/work/crabbox/repo' && bash -lc 'cd '\\''/work/crabbox/repo'\\'' && exec "$@"' bash 'npm' 'test'`
    )
  })

  it("quotes quotes, spaces and dollars so the shell sees none of them", () => {
    const { command } = wrapCommand({ workdir: "/w", argv: ["echo", "it's", "a b", "$HOME"], shell: false })
    assert.isTrue(command.endsWith(` bash 'echo' 'it'\\''s' 'a b' '$HOME'`))
  })

  it("joins the words into one script in shell mode", () => {
    const { command, shellMode } = wrapCommand({ workdir: "/w", argv: ["echo", "$HOME", "|", "wc", "-c"], shell: false })
    assert.isTrue(shellMode)
    assert.strictEqual(command, `cd '/w' && bash -lc 'cd '\\''/w'\\'' && echo $HOME | wc -c'`)
  })

  it("--shell forces shell mode", () => {
    assert.isTrue(wrapCommand({ workdir: "/w", argv: ["make", "test"], shell: true }).shellMode)
  })
})

describe("looksLikeShell", () => {
  it("detects a single word holding whitespace or shell characters", () => {
    for (const word of ["make test", "a&b", "a|b", "a;b", "a<b", "a>b", "*.ts", "$HOME", "`date`", "(cd x)", "tab\there"]) {
      assert.isTrue(looksLikeShell([word]), word)
    }
  })

  it("detects a leading NAME=value word", () => {
    assert.isTrue(looksLikeShell(["FOO=1", "make"]))
    assert.isTrue(looksLikeShell(["_x=", "make"]))
    assert.isFalse(looksLikeShell(["make", "FOO=1"]))
    assert.isFalse(looksLikeShell(["1FOO=1", "make"]))
  })

  it("detects any bare control operator word", () => {
    for (const op of ["&&", "||", ";", "|", ">", ">>", "<", "2>", "2>>"]) {
      assert.isTrue(looksLikeShell(["make", op, "x"]), op)
    }
  })

  it("leaves ordinary argv alone, even with shell characters in later words", () => {
    assert.isFalse(looksLikeShell(["npm", "test"]))
    assert.isFalse(looksLikeShell(["printf", "%s\n", "a b", "it's", "$HOME"]))
    assert.isFalse(looksLikeShell(["grep", "-r", "a|b", "src"]))
    assert.isFalse(looksLikeShell(["ls"]))
    assert.isFalse(looksLikeShell([]))
  })
})

describe("wrapCommand under a real bash", () => {
  const root = mkdtempSync(join(tmpdir(), "crabbox-cmdline-"))
  // A workdir that needs quoting itself.
  const workdir = join(root, "work dir's $x")
  mkdirSync(workdir)
  afterAll(() => rmSync(root, { recursive: true, force: true }))

  /** Runs the line the way sshd would hand it to the user's shell; HOME points away from any profile. */
  const runRemote = (command: string): string =>
    execFileSync("bash", ["-c", command], { encoding: "utf8", env: { PATH: process.env["PATH"] ?? "/usr/bin:/bin", HOME: root } })

  it("delivers the exact argv in the workdir", () => {
    const argv = ["printf", "%s\\n", "a b", "it's", "$HOME", "`id`", "", "*", "--", "new\nline"]
    const out = runRemote(wrapCommand({ workdir, argv, shell: false }).command)
    assert.strictEqual(out, ["a b", "it's", "$HOME", "`id`", "", "*", "--", "new\nline"].map((w) => `${w}\n`).join(""))
    assert.strictEqual(runRemote(wrapCommand({ workdir, argv: ["pwd"], shell: false }).command), `${workdir}\n`)
  })

  it("runs shell mode as a script in the workdir", () => {
    const out = runRemote(wrapCommand({ workdir, argv: ["X=1; echo $X && pwd"], shell: false }).command)
    assert.strictEqual(out, `1\n${workdir}\n`)
  })

  it("an empty argv only changes directory", () => {
    assert.strictEqual(runRemote(wrapCommand({ workdir, argv: [], shell: true }).command), "")
    assert.strictEqual(runRemote(wrapCommand({ workdir, argv: [], shell: false }).command), "")
  })
})

import { execFileSync } from "node:child_process"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { startSshd, type TestSshd } from "../support/sshd.js"

describe("test sshd harness", () => {
  let sshd: TestSshd
  beforeAll(async () => { sshd = await startSshd() })
  afterAll(async () => { await sshd?.stop() })

  it("accepts the client key with OpenSSH", () => {
    const out = execFileSync("ssh", [
      "-i", sshd.clientKey.privateKeyPath, "-p", String(sshd.port),
      "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
      "-o", "LogLevel=ERROR", `${sshd.user}@127.0.0.1`, "echo", "hello"
    ]).toString()
    expect(out.trim()).toBe("hello")
  })
})

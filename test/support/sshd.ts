/**
 * A real OpenSSH sshd on 127.0.0.1 for integration tests: its own host key,
 * authorized_keys and config in a temp dir, on a random free port.
 */
import { execFileSync, spawn, type ChildProcess } from "node:child_process"
import { chmodSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { createConnection, createServer } from "node:net"
import { tmpdir, userInfo } from "node:os"
import { join } from "node:path"
import { generateEd25519KeyPair } from "../../src/adapters/shared/ed25519KeyPair.js"

export interface TestKeyPair {
  readonly privateKey: string
  readonly publicKey: string
  readonly privateKeyPath: string
}

export interface TestSshd {
  readonly host: "127.0.0.1"
  readonly port: number
  readonly user: string
  readonly dir: string
  /** the client key authorized by this sshd */
  readonly clientKey: TestKeyPair
  /** host public key line `ssh-ed25519 AAAA...` */
  hostPublicKey(): string
  /** regenerate the host key and restart sshd on the same port */
  rotateHostKey(): Promise<void>
  stop(): Promise<void>
}

const SSHD = ["/usr/sbin/sshd", "/usr/bin/sshd"].find((p) => existsSync(p))

export const sshdAvailable = (): boolean => SSHD !== undefined

export const freePort = (): Promise<number> =>
  new Promise((resolve, reject) => {
    const server = createServer()
    server.once("error", reject)
    server.listen(0, "127.0.0.1", () => {
      const address = server.address()
      const port = typeof address === "object" && address ? address.port : 0
      server.close(() => resolve(port))
    })
  })

const waitForPort = async (port: number, timeoutMs: number): Promise<void> => {
  const deadline = Date.now() + timeoutMs
  while (Date.now() < deadline) {
    const ok = await new Promise<boolean>((resolve) => {
      const socket = createConnection({ host: "127.0.0.1", port })
      socket.once("data", () => { socket.destroy(); resolve(true) })
      socket.once("error", () => resolve(false))
    })
    if (ok) return
    await new Promise((r) => setTimeout(r, 50))
  }
  throw new Error(`sshd did not listen on 127.0.0.1:${port} within ${timeoutMs} ms`)
}

export const makeKeyPair = (dir: string, name: string): TestKeyPair => {
  const pair = generateEd25519KeyPair(`crabbox-test ${name}`)
  const privateKeyPath = join(dir, name)
  writeFileSync(privateKeyPath, pair.private, { mode: 0o600 })
  writeFileSync(`${privateKeyPath}.pub`, `${pair.public}\n`, { mode: 0o644 })
  return { privateKey: pair.private, publicKey: pair.public, privateKeyPath }
}

export const startSshd = async (options: { extraAuthorizedKeys?: ReadonlyArray<string> } = {}): Promise<TestSshd> => {
  if (!SSHD) throw new Error("sshd not installed: apt-get install -y openssh-server")
  // sshd refuses to start without its privilege separation directory.
  mkdirSync("/run/sshd", { recursive: true, mode: 0o755 })
  const dir = mkdtempSync(join(tmpdir(), "crabbox-sshd-"))
  chmodSync(dir, 0o700)
  const clientKey = makeKeyPair(dir, "client_ed25519")
  const authorized = [clientKey.publicKey, ...(options.extraAuthorizedKeys ?? [])].join("\n") + "\n"
  writeFileSync(join(dir, "authorized_keys"), authorized, { mode: 0o600 })
  const hostKeyPath = join(dir, "ssh_host_ed25519_key")
  const genHostKey = () => {
    rmSync(hostKeyPath, { force: true })
    rmSync(`${hostKeyPath}.pub`, { force: true })
    execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", hostKeyPath])
  }
  genHostKey()
  const port = await freePort()
  const user = userInfo().username
  writeFileSync(join(dir, "sshd_config"), [
    `ListenAddress 127.0.0.1:${port}`,
    `HostKey ${hostKeyPath}`,
    `PidFile ${join(dir, "sshd.pid")}`,
    `AuthorizedKeysFile ${join(dir, "authorized_keys")}`,
    "PasswordAuthentication no",
    "KbdInteractiveAuthentication no",
    "PubkeyAuthentication yes",
    "PermitRootLogin prohibit-password",
    "StrictModes no",
    "UsePAM no",
    "MaxStartups 100:30:200",
    "MaxSessions 50",
    "LogLevel ERROR",
    "Subsystem sftp internal-sftp",
    ""
  ].join("\n"))
  let child: ChildProcess | undefined
  const start = async () => {
    child = spawn(SSHD, ["-D", "-e", "-f", join(dir, "sshd_config")], { stdio: ["ignore", "ignore", "pipe"] })
    let stderr = ""
    child.stderr?.on("data", (d: Buffer) => { stderr += d.toString() })
    try {
      await waitForPort(port, 10_000)
    } catch (e) {
      throw new Error(`${(e as Error).message}\n${stderr}`)
    }
  }
  const halt = () =>
    new Promise<void>((resolve) => {
      const c = child
      if (!c || c.exitCode !== null) return resolve()
      c.once("exit", () => resolve())
      c.kill("SIGTERM")
    })
  await start()
  return {
    host: "127.0.0.1",
    port,
    user,
    dir,
    clientKey,
    hostPublicKey: () => execFileSync("cat", [`${hostKeyPath}.pub`]).toString().trim().split(" ").slice(0, 2).join(" "),
    rotateHostKey: async () => {
      await halt()
      genHostKey()
      await start()
    },
    stop: async () => {
      await halt()
      rmSync(dir, { recursive: true, force: true })
    }
  }
}

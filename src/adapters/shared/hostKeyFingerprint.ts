/** Host-key identity as OpenSSH shows it; shared by the ssh2 adapter and its in-memory twin. */
import { createHash } from "node:crypto"
import type { HostKey } from "../../domain/sshTarget.js"

/** `SHA256:<base64 without padding>`, exactly as `ssh-keygen -lf` and OpenSSH's warnings print it. */
export const fingerprint = (key: HostKey): string =>
  `SHA256:${createHash("sha256").update(Buffer.from(key.base64, "base64")).digest("base64").replace(/=+$/, "")}`

/** Compared on the decoded blob, so base64 spelling (padding, line breaks) does not matter. */
export const sameHostKey = (a: HostKey, b: HostKey): boolean =>
  Buffer.from(a.base64, "base64").equals(Buffer.from(b.base64, "base64"))

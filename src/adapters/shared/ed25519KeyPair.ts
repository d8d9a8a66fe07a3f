/**
 * ed25519 key pairs in OpenSSH format from ssh2. About 1 in 256 keys from ssh2 1.17's
 * `generateKeyPairSync` cannot be read back (it strips a leading zero byte of the public
 * key: mscdex/ssh2#1390, #1513), so a pair that does not parse is thrown away.
 */
import ssh2 from "ssh2"

// ssh2 is CommonJS: Node's ESM loader only sees its default export.
const { utils } = ssh2

export interface Ed25519KeyPair {
  /** OpenSSH private key text */
  readonly private: string
  /** `ssh-ed25519 AAAA... comment` */
  readonly public: string
}

const parses = (text: string) => {
  const parsed = utils.parseKey(text)
  return !(parsed instanceof Error)
}

/** Throws only if ssh2 is broken (twenty unusable keys in a row). */
export const generateEd25519KeyPair = (comment?: string): Ed25519KeyPair => {
  for (let attempt = 0; attempt < 20; attempt++) {
    const pair = utils.generateKeyPairSync("ed25519", comment === undefined ? {} : { comment })
    if (parses(pair.private) && parses(pair.public)) return { private: pair.private, public: pair.public }
  }
  throw new Error("ssh2 generated no parseable ed25519 key in 20 attempts")
}

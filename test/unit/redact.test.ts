import { assert, describe, it } from "@effect/vitest"
import { redact } from "../../src/domain/redact.js"

describe("redact: known secrets", () => {
  const key = "fal-key-0123:abcdef"

  it("replaces the raw value", () => {
    assert.strictEqual(redact(`key is ${key}.`, [key]), "key is <redacted>.")
  })

  it("replaces the JSON-escaped and URL-encoded forms", () => {
    const secret = `s3"cr\\et value`
    const json = JSON.stringify({ detail: `bad ${secret}` })
    assert.strictEqual(redact(json, [secret]), `{"detail":"bad <redacted>"}`)
    assert.strictEqual(redact(`/x?q=${encodeURIComponent(secret)}`, [secret]), "/x?q=<redacted>")
    assert.strictEqual(redact(`q=${encodeURIComponent(secret).replace(/%20/g, "+")}`, [secret]), "q=<redacted>")
  })

  it("replaces Go's HTML-safe JSON form", () => {
    assert.strictEqual(redact(`"a\\u003cb\\u003ec"`, ["a<b>c"]), `"<redacted>"`)
  })

  it("covers overlapping secrets with one marker, whatever their order", () => {
    assert.strictEqual(redact("xxABCDEFyy", ["ABCD", "CDEF"]), "xx<redacted>yy")
    assert.strictEqual(redact("xxABCDEFyy", ["CDEF", "ABCDEF"]), "xx<redacted>yy")
  })

  it("ignores values shorter than four characters", () => {
    assert.strictEqual(redact("abc 123", ["abc", "", "12"]), "abc 123")
  })
})

describe("redact: credential-looking text", () => {
  it("keeps the scheme of an Authorization header and drops its value", () => {
    assert.strictEqual(redact("Authorization: Key abc:def\nnext", []), "Authorization: Key <redacted>\nnext")
    assert.strictEqual(redact("authorization: opaque", []), "authorization: <redacted>")
    assert.strictEqual(redact("X-API-Key: k123", []), "X-API-Key: <redacted>")
  })

  it("drops bearer tokens but not the word bearer", () => {
    assert.strictEqual(redact("sent Bearer eyJhbGciOi.x.y", []), "sent Bearer <redacted>")
    assert.strictEqual(redact("needs a bearer token", []), "needs a bearer token")
  })

  it("drops URL userinfo", () => {
    assert.strictEqual(redact("GET https://user:p@ss@api.test/v1 failed", []), "GET https://<redacted>@api.test/v1 failed")
    assert.strictEqual(redact("mail bob@example.com via https://api.test/x", []), "mail bob@example.com via https://api.test/x")
  })

  it("drops secret query values and keeps the others", () => {
    assert.strictEqual(
      redact("https://h/p?a=1&token=t0k&api_key=k&key=k2&secret=s&password=pw&b=2#f", []),
      "https://h/p?a=1&token=<redacted>&api_key=<redacted>&key=<redacted>&secret=<redacted>&password=<redacted>&b=2#f"
    )
  })

  it("drops secret JSON string fields, also in JSON nested inside a JSON string", () => {
    assert.strictEqual(
      redact(`{"token":"a\\"b","apiKey": "k","api_key":"k","password":"p","secret":"s","key":"v","name":"ok","n":1}`, []),
      `{"token":"<redacted>","apiKey": "<redacted>","api_key":"<redacted>","password":"<redacted>","secret":"<redacted>","key":"<redacted>","name":"ok","n":1}`
    )
    assert.strictEqual(
      redact(JSON.stringify({ error: JSON.stringify({ token: `x"y`, ok: 1 }) }), []),
      JSON.stringify({ error: JSON.stringify({ token: "<redacted>", ok: 1 }) })
    )
  })

  it("replaces PEM private-key blocks, even a truncated one", () => {
    const pem = "-----BEGIN OPENSSH PRIVATE KEY-----\nb3Blbn\nNzaC1\n-----END OPENSSH PRIVATE KEY-----"
    assert.strictEqual(redact(`key:\n${pem}\nafter`, []), "key:\n[redacted]\nafter")
    assert.strictEqual(redact("-----BEGIN RSA PRIVATE KEY-----\nMIIE", []), "[redacted]")
    assert.strictEqual(redact("-----BEGIN PUBLIC KEY-----\nMIIB", []), "-----BEGIN PUBLIC KEY-----\nMIIB")
  })

  it("is stable when applied twice", () => {
    const text = `Authorization: Bearer abcdefghijkl {"token":"x"} https://u:p@h/?key=1`
    assert.strictEqual(redact(redact(text, []), []), redact(text, []))
  })
})

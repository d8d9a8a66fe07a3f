import { assert, describe, it } from "@effect/vitest"
import { Schema } from "effect"
import type { Claim } from "../../src/domain/claim.js"
import { LeaseId } from "../../src/domain/ids.js"
import { LeaseView } from "../../src/domain/leaseView.js"
import { leaseViewOf, UNKNOWN_EXPIRY } from "../../src/domain/leaseViewOf.js"

const aClaim = (overrides: Partial<Claim> = {}): Claim => ({
  version: 1,
  leaseId: LeaseId.make("cbx_0123456789ab"),
  slug: "violet-prawn",
  provider: "fal",
  providerScope: "endpoint:https://api.fal.ai/v1",
  cloudId: "inst-1",
  state: "ready",
  repoRoot: "/src/repo",
  createdAt: "2024-05-01T10:00:00Z",
  claimedAt: "2024-05-01T10:02:00Z",
  lastUsedAt: "2024-05-01T10:20:00Z",
  ttlSeconds: 5400,
  idleTimeoutSeconds: 1800,
  keep: false,
  ssh: { host: "10.0.0.5", port: 22, user: "ubuntu", workRoot: "/home/ubuntu/crabbox" },
  labels: {
    server_type: "gpu_1x_h100_sxm5",
    target: "linux",
    sector: "sector_1",
    fal_credential_binding: "abc",
    fal_create_request_binding: "def",
    delete_token: "t",
    Client_Secret_Hash: "s"
  },
  ...overrides
})

describe("leaseViewOf", () => {
  it("shows the claim, with expiry and only public labels", () => {
    const view = leaseViewOf(aClaim())
    assert.deepStrictEqual(view, {
      leaseId: "cbx_0123456789ab",
      slug: "violet-prawn",
      provider: "fal",
      cloudId: "inst-1",
      status: "ready",
      serverType: "gpu_1x_h100_sxm5",
      host: "10.0.0.5",
      keep: false,
      target: "linux",
      repoRoot: "/src/repo",
      createdAt: "2024-05-01T10:00:00Z",
      lastUsedAt: "2024-05-01T10:20:00Z",
      expiresAt: "2024-05-01T10:50:00Z",
      labels: { server_type: "gpu_1x_h100_sxm5", target: "linux", sector: "sector_1" }
    })
    assert.isTrue(Schema.is(LeaseView)(view))
  })

  it("prefers what the provider reports live, but not an empty value", () => {
    const view = leaseViewOf(aClaim(), { status: "provisioning", host: "1.2.3.4", serverType: "" })
    assert.strictEqual(view.status, "provisioning")
    assert.strictEqual(view.host, "1.2.3.4")
    assert.strictEqual(view.serverType, "gpu_1x_h100_sxm5")
  })

  it("uses null for what neither side knows, and says when the expiry is unknown", () => {
    const { cloudId: _cloudId, ssh: _ssh, ...bare } = aClaim()
    const view = leaseViewOf({ ...bare, labels: {}, lastUsedAt: "garbage" })
    assert.strictEqual(view.cloudId, null)
    assert.strictEqual(view.host, null)
    assert.strictEqual(view.serverType, null)
    assert.strictEqual(view.target, "linux")
    assert.strictEqual(view.expiresAt, UNKNOWN_EXPIRY)
  })
})

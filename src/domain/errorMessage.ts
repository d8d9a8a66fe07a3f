/** One line per error, the same wherever it is shown (CLI exit, warnings, cleanup reports). */
import type { CrabboxError } from "./errors.js"

const withHint = (message: string, hint?: string) => (hint ? `${message} (${hint})` : message)

export const describeError = (e: CrabboxError): string => {
  switch (e._tag) {
    case "UsageError": return withHint(e.message, e.hint)
    case "ConfigError": return `config error: ${e.key} ${e.message} (from ${e.source}${e.line === undefined ? "" : `:${e.line}`})`
    case "UnknownProvider": return `unknown provider ${JSON.stringify(e.name)}; known providers: ${e.known.join(", ")}`
    case "UnsupportedFeature": return e.message
    case "ClaimedByOtherRepo": return `lease ${e.leaseId} is claimed by repo ${e.repo}; use --reclaim to claim it for ${e.requestingRepo}`
    case "ClaimChanged": return `lease ${e.leaseId} claim changed; retry`
    case "CredentialsMissing": return e.message
    case "LeaseNotFound": return `no local claim for lease ${JSON.stringify(e.id)} with provider=${e.provider} (see crabbox list --provider ${e.provider})`
    case "LeaseStateConflict": return `lease ${e.leaseId} is ${e.state}: ${e.message}`
    case "ReadinessTimedOut": return e.message
    case "SyncError": return `sync failed: ${e.message}`
    case "SyncTooLarge": return e.message
    case "WorkspaceError": return `workspace: ${e.message}${e.path ? ` (${e.path})` : ""}`
    case "SshError": return `ssh ${e.kind} failure for ${e.host}:${e.port}: ${e.message}`
    case "HostKeyMismatch": return `host key for ${e.host}:${e.port} changed (pinned ${e.expected}, got ${e.actual}); refusing to connect`
    case "RemoteSetupFailed": return e.message
    case "LeaseCleanupFailed": return `lease cleanup failed for ${e.leaseId}: ${e.message}`
    case "ClaimStoreError": return `claim store ${e.operation} ${e.path}: ${e.message}`
    case "KeyStoreError": return `key store ${e.operation} ${e.path}: ${e.message}`
    case "ProviderError": return `provider=${e.provider}: ${e.message}`
    case "ComputeApiError": return `provider=${e.provider}: ${e.operation} failed (${e.kind}${e.status === undefined ? "" : ` HTTP ${e.status}`}): ${e.message}${e.requestId === undefined ? "" : ` [request ${e.requestId}]`}`
    case "ReadinessFailed": return e.message
    case "DoctorFailed": return `doctor: ${e.failed} check(s) failed`
    case "RemoteCommandExit": return `remote command exited ${e.code}`
  }
}

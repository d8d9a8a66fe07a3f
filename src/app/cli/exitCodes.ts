/**
 * The one table from error tag to exit code and one-line message (reference section 1).
 * Scripts can branch on 2 (usage/ownership), 4 (lease state), 5 (readiness), 6 (sync), 7 (SSH).
 */
import type { CrabboxError } from "../../domain/errors.js"

export interface ExitReport {
  readonly code: number
  readonly message: string
}

const withHint = (message: string, hint?: string) => (hint ? `${message} (${hint})` : message)

export const exitReport = (e: CrabboxError): ExitReport => {
  switch (e._tag) {
    case "UsageError": return { code: 2, message: withHint(e.message, e.hint) }
    case "ConfigError": return { code: 2, message: `config error: ${e.key}: ${e.message} (${e.source}${e.line === undefined ? "" : `:${e.line}`})` }
    case "UnknownProvider": return { code: 2, message: `unknown provider ${JSON.stringify(e.name)}; known providers: ${e.known.join(", ")}` }
    case "UnsupportedFeature": return { code: 2, message: e.message }
    case "ClaimedByOtherRepo": return { code: 2, message: `lease ${e.leaseId} is claimed by repo ${e.repo}; use --reclaim to claim it for ${e.requestingRepo}` }
    case "ClaimChanged": return { code: 2, message: `lease ${e.leaseId} claim changed; retry` }
    case "CredentialsMissing": return { code: 3, message: e.message }
    case "LeaseNotFound": return { code: 4, message: `no local claim for lease ${JSON.stringify(e.id)} with provider=${e.provider} (see crabbox list --provider ${e.provider})` }
    case "LeaseStateConflict": return { code: 4, message: `lease ${e.leaseId} is ${e.state}: ${e.message}` }
    case "ReadinessTimedOut": return { code: 5, message: e.message }
    case "SyncError": return { code: 6, message: `sync failed: ${e.message}` }
    case "SyncTooLarge": return { code: 6, message: e.message }
    case "WorkspaceError": return { code: 6, message: `workspace: ${e.message}${e.path ? ` (${e.path})` : ""}` }
    case "SshError": return { code: 7, message: `ssh ${e.kind} failure for ${e.host}:${e.port}: ${e.message}` }
    case "HostKeyMismatch": return { code: 7, message: `host key for ${e.host}:${e.port} changed (pinned ${e.expected}, got ${e.actual}); refusing to connect` }
    case "RemoteSetupFailed": return { code: 7, message: e.message }
    case "LeaseCleanupFailed": return { code: 7, message: `lease cleanup failed for ${e.leaseId}: ${e.message}` }
    case "ClaimStoreError": return { code: 1, message: `claim store ${e.operation} ${e.path}: ${e.message}` }
    case "KeyStoreError": return { code: 1, message: `key store ${e.operation} ${e.path}: ${e.message}` }
    case "ProviderError": return { code: 1, message: `provider=${e.provider}: ${e.message}` }
    case "DoctorFailed": return { code: 1, message: `doctor: ${e.failed} check(s) failed` }
    case "RemoteCommandExit": return { code: e.code, message: `remote command exited ${e.code}` }
  }
}

/**
 * The one table from error tag to exit code (reference section 1). Scripts can branch on
 * 2 (usage/ownership), 4 (lease state), 5 (readiness), 6 (sync), 7 (SSH).
 */
import { describeError } from "../../domain/errorMessage.js"
import type { CrabboxError } from "../../domain/errors.js"

export interface ExitReport {
  readonly code: number
  readonly message: string
}

const exitCode = (e: CrabboxError): number => {
  switch (e._tag) {
    case "UsageError": return 2
    case "ConfigError": return 2
    case "UnknownProvider": return 2
    case "UnsupportedFeature": return 2
    case "ClaimedByOtherRepo": return 2
    case "ClaimChanged": return 2
    case "CredentialsMissing": return 3
    case "LeaseNotFound": return 4
    case "LeaseStateConflict": return 4
    case "ReadinessTimedOut": return 5
    case "SyncError": return 6
    case "SyncTooLarge": return 6
    case "WorkspaceError": return 6
    case "SshError": return 7
    case "HostKeyMismatch": return 7
    case "RemoteSetupFailed": return 7
    case "LeaseCleanupFailed": return 7
    case "ClaimStoreError": return 1
    case "KeyStoreError": return 1
    case "ProviderError": return 1
    case "DoctorFailed": return 1
    case "ReadinessFailed": return 5
    case "ComputeApiError": return e.kind === "auth" || e.kind === "permission" ? 3 : e.kind === "validation" ? 2 : 1
    case "RemoteCommandExit": return e.code
  }
}

export const exitReport = (e: CrabboxError): ExitReport => ({ code: exitCode(e), message: describeError(e) })

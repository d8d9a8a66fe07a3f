/**
 * crabbox as a library: domain types and rules, ports, workflows, and the adapters as
 * Layers (real ones and in-memory twins for your tests). See docs/embedding.md.
 */
// domain
export * from "./domain/errors.js"
export * from "./domain/ids.js"
export * from "./domain/claim.js"
export * from "./domain/leaseView.js"
export * from "./domain/provider.js"
export * from "./domain/manifest.js"
export * from "./domain/sshTarget.js"
export * from "./domain/slug.js"
export * from "./domain/duration.js"
export * from "./domain/redact.js"
export * from "./domain/cleanupPlan.js"
export * from "./domain/manifestDiff.js"
export * from "./domain/commandLine.js"
export * from "./domain/errorMessage.js"

// ports
export {
  ComputeApi, ComputeClouds, type ComputeApiCapabilities, type ComputeApiService, type ComputeApiSettings,
  type ComputeInstance, type CreateInstanceRequest, type InstancePage, type InstanceStatus
} from "./ports/ComputeApi.js"
export { ClaimStore } from "./ports/ClaimStore.js"
export { KeyStore, type LeaseKey } from "./ports/KeyStore.js"
export { SshTransport, type ExecRequest, type ExitStatus, type RemoteProcess, type SshSession } from "./ports/SshTransport.js"
export { Stdio } from "./ports/Stdio.js"
export { Workspace, type WorkspaceSnapshot } from "./ports/Workspace.js"
export {
  FreestyleApiError, FreestyleApis, type CreateVmRequest, type ExecResult as FreestyleExecResult,
  type FreestyleApiService, type FreestyleApiSettings, type FreestyleVm
} from "./ports/FreestyleApi.js"
export {
  ModalClientError, ModalClients, type CreateSandboxRequest, type ExecOutcome as ModalExecOutcome,
  type ExecRequest as ModalExecRequest, type ModalClient, type ModalClientSettings, type ModalSandbox,
  type UploadRequest as ModalUploadRequest
} from "./ports/ModalClient.js"

// providers and workflows
export type * from "./app/providers/backend.js"
export { builtinProviders } from "./app/providers/builtin.js"
export { lookupProvider, makeRegistry, type ProviderModule } from "./app/providers/registry.js"
export { makeStaticSshBackend, type StaticSshSettings } from "./app/providers/ssh/StaticSshBackend.js"
export { runWorkflow, type RunRequest } from "./app/workflows/run.js"
export { warmupWorkflow } from "./app/workflows/warmup.js"
export { statusWorkflow } from "./app/workflows/status.js"
export { stopWorkflow } from "./app/workflows/stop.js"
export { cleanupWorkflow } from "./app/workflows/cleanup.js"
export { doctorWorkflow } from "./app/workflows/doctor.js"
export { delegatedRunWorkflow, refuseDelegatedOptions, type DelegatedRunInput } from "./app/workflows/delegatedRun.js"
export { delegatedWarmupWorkflow } from "./app/workflows/delegatedWarmup.js"
export { delegatedStatusWorkflow } from "./app/workflows/delegatedStatus.js"
export { delegatedStopWorkflow } from "./app/workflows/delegatedStop.js"
export { runOnFreshLease, withFreshLease } from "./app/workflows/delegatedLease.js"
export { buildSyncArchive } from "./app/workflows/delegatedArchive.js"
export { makeComputeLeaseBackend, computeScope } from "./app/providers/compute/ComputeLeaseBackend.js"
export { defaultComputeTiming, type ComputeLeaseSettings, type ComputeTiming, type MachineChoice } from "./app/providers/compute/settings.js"
export { falProvider, DEFAULT_FAL_API_URL } from "./app/providers/fal/falProvider.js"
export { makeFreestyleBackend } from "./app/providers/freestyle/FreestyleBackend.js"
export { makeModalBackend } from "./app/providers/modal/ModalBackend.js"
export { modalSettings, type ModalSettings } from "./app/providers/modal/settings.js"
export { syncWorkspace } from "./app/sync/syncWorkspace.js"
export { loadConfig } from "./app/config/loadConfig.js"
export { runCli } from "./app/cli/runCli.js"
export { LocalEnv } from "./app/cli/localEnv.js"
export { WorkspaceFor } from "./app/cli/workspaceFor.js"
export { SshEmulator, type EmulatedSshHost } from "./app/cli/sshEmulator.js"
export { FalEmulator, type FalEmulatorOptions, type RunningFalEmulator, type FalFault, type FalOperation, type FalRecordedRequest, type FalEmulatedInstance } from "./app/cli/falEmulator.js"

// adapters, as layers
export * as FileClaimStore from "./adapters/fs/FileClaimStore.js"
export * as FileKeyStore from "./adapters/fs/FileKeyStore.js"
export * as StateDir from "./adapters/fs/StateDir.js"
export * as GitWorkspace from "./adapters/git/GitWorkspace.js"
export * as NodeStdio from "./adapters/node/NodeStdio.js"
export * as Ssh2Transport from "./adapters/ssh2/Ssh2Transport.js"
export * as FalComputeApi from "./adapters/fal/FalComputeApi.js"
export * as MemoryComputeApi from "./adapters/memory/MemoryComputeApi.js"
export * as FreestyleHttpApi from "./adapters/freestyle/FreestyleHttpApi.js"
export * as PythonModalClient from "./adapters/modal/PythonModalClient.js"
export * as MemoryClaimStore from "./adapters/memory/MemoryClaimStore.js"
export * as MemoryKeyStore from "./adapters/memory/MemoryKeyStore.js"
export * as MemorySshTransport from "./adapters/memory/MemorySshTransport.js"
export * as MemoryWorkspace from "./adapters/memory/MemoryWorkspace.js"
export * as MemoryStdio from "./adapters/memory/MemoryStdio.js"
export * as LocalSshServer from "./adapters/ssh2/LocalSshServer.js"

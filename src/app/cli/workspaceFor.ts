import type { Layer } from "effect"
import { Context } from "effect"
import type { WorkspaceError } from "../../domain/errors.js"
import type { Workspace } from "../../ports/Workspace.js"

/** How to open the Workspace of a repo root; the entry point picks the adapter (git, memory). */
export class WorkspaceFor extends Context.Tag("crabbox/WorkspaceFor")<
  WorkspaceFor,
  (root: string) => Layer.Layer<Workspace, WorkspaceError>
>() {}

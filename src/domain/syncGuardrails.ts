/**
 * Size guardrails for the set a sync is about to transfer: a warning first, then a hard
 * stop that only `--force-sync-large` (or `CRABBOX_SYNC_ALLOW_LARGE=1`) lifts. They
 * catch the classic mistake of syncing a checkout full of build output or data sets.
 */
import { Effect } from "effect"
import { SyncTooLarge } from "./errors.js"

const GiB = 1024 ** 3

export const syncLimits = {
  warnFiles: 50_000,
  warnBytes: 5 * GiB,
  failFiles: 150_000,
  failBytes: 20 * GiB
} as const

export interface SyncSetSize {
  readonly files: number
  readonly bytes: number
}

export type GuardrailVerdict =
  | { readonly _tag: "ok" }
  | { readonly _tag: "warn"; readonly message: string }

/** `1536` -> `"0.0 MiB"`, `5 * 2**20` -> `"5.0 MiB"`: the unit every sync line uses. */
export const formatMiB = (bytes: number): string => `${(bytes / 1024 ** 2).toFixed(1)} MiB`

const describe = (set: SyncSetSize): string => `${set.files} files, ${formatMiB(set.bytes)}`

/**
 * Judge a transfer set. Over the fail limits it fails with `SyncTooLarge` unless forced,
 * in which case it only warns.
 */
export const checkSyncSize = (
  set: SyncSetSize,
  options: { readonly force: boolean }
): Effect.Effect<GuardrailVerdict, SyncTooLarge> => {
  const overFail = set.files >= syncLimits.failFiles || set.bytes >= syncLimits.failBytes
  const overWarn = set.files >= syncLimits.warnFiles || set.bytes >= syncLimits.warnBytes
  if (overFail && !options.force) {
    return Effect.fail(new SyncTooLarge({
      files: set.files,
      bytes: set.bytes,
      message: `sync too large: ${describe(set)} (limit ${syncLimits.failFiles} files or 20 GiB); ` +
        "use --force-sync-large or CRABBOX_SYNC_ALLOW_LARGE=1"
    }))
  }
  if (overWarn) {
    return Effect.succeed({
      _tag: "warn",
      message: `warning: large sync: ${describe(set)}${overFail ? " (over the limit, forced)" : ""}; ` +
        "check sync.exclude or .crabboxignore"
    })
  }
  return Effect.succeed({ _tag: "ok" })
}

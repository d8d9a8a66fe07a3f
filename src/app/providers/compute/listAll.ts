/**
 * Every instance the credential can see, page by page. Guards against a misbehaving
 * cursor (a repeat or too many pages) and de-duplicates by id, since offset-style pages
 * can repeat an item when the set changes between fetches.
 */
import { Effect, Option } from "effect"
import { ComputeApiError } from "../../../domain/errors.js"
import type { ComputeApiService, ComputeInstance } from "../../../ports/ComputeApi.js"

export const MAX_PAGES = 100

export const listAll = (api: ComputeApiService): Effect.Effect<ReadonlyArray<ComputeInstance>, ComputeApiError> =>
  Effect.gen(function* () {
    const byId = new Map<string, ComputeInstance>()
    const seenCursors = new Set<string>()
    let cursor: Option.Option<string> = Option.none()
    for (let page = 0; page < MAX_PAGES; page++) {
      const result = yield* api.list(cursor)
      for (const instance of result.instances) byId.set(instance.id, instance)
      if (Option.isNone(result.nextCursor)) return [...byId.values()]
      const next = result.nextCursor.value
      if (seenCursors.has(next)) {
        return yield* new ComputeApiError({
          provider: api.capabilities.provider, operation: "list", kind: "decode", message: `list repeated cursor ${JSON.stringify(next)}`
        })
      }
      seenCursors.add(next)
      cursor = result.nextCursor
    }
    return yield* new ComputeApiError({
      provider: api.capabilities.provider, operation: "list", kind: "decode", message: `list did not end after ${MAX_PAGES} pages`
    })
  })

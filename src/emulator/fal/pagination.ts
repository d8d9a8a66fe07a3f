/**
 * fal's list paging: `cursor` "encodes the page number" (the docs' example `Mg==` is base64
 * of "2"). Page 1 is the request without a cursor. The default and maximum `limit` are not
 * documented; the emulator uses 50 and caps larger values at 100, the size crabbox asks for.
 */
import { Either } from "effect"

export const DEFAULT_LIMIT = 50
export const MAX_LIMIT = 100

export const encodeCursor = (page: number): string => Buffer.from(String(page), "utf8").toString("base64")

export const decodeCursor = (cursor: string): Either.Either<number, string> => {
  const text = /^[A-Za-z0-9+/]+={0,2}$/.test(cursor) ? Buffer.from(cursor, "base64").toString("utf8") : ""
  const page = /^[1-9][0-9]{0,8}$/.test(text) ? Number(text) : Number.NaN
  return Number.isNaN(page) || encodeCursor(page) !== cursor
    ? Either.left("cursor is not one this API returned")
    : Either.right(page)
}

export const parseLimit = (text: string | undefined): Either.Either<number, string> => {
  if (text === undefined) return Either.right(DEFAULT_LIMIT)
  if (!/^[0-9]+$/.test(text) || Number(text) < 1) return Either.left("limit must be an integer of at least 1")
  return Either.right(Math.min(Number(text), MAX_LIMIT))
}

export interface Page<A> {
  readonly items: ReadonlyArray<A>
  /** null on the last page, as fal sends it */
  readonly nextCursor: string | null
}

/** A page past the end is empty and last, as offset paging gives it. */
export const pageOf = <A>(items: ReadonlyArray<A>, page: number, limit: number): Page<A> => {
  const start = (page - 1) * limit
  return {
    items: items.slice(start, start + limit),
    nextCursor: start + limit < items.length ? encodeCursor(page + 1) : null
  }
}

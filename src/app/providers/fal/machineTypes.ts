/**
 * fal's two machine types. The API takes only the `gpu_*` values; the dashboard's display
 * names are accepted and mapped. A sector (InfiniBand placement) exists only for the 8x type.
 */
import { Either, Option } from "effect"
import type { MachineChoice } from "../compute/settings.js"

export const FAL_TYPES = {
  "gpu_1x_h100_sxm5": "1xH100-SXM",
  "gpu_8x_h100_sxm5": "8xH100-SXM"
} as const

export const DEFAULT_FAL_TYPE = "gpu_1x_h100_sxm5"
const SECTOR_TYPE = "gpu_8x_h100_sxm5"

const byDisplayName = new Map(Object.entries(FAL_TYPES).map(([api, display]) => [display.toLowerCase(), api]))

/** `1xH100-SXM` -> `gpu_1x_h100_sxm5`; None for anything else. */
export const falTypeOf = (text: string): Option.Option<string> => {
  const wanted = text.trim()
  if (wanted in FAL_TYPES) return Option.some(wanted)
  return Option.fromNullable(byDisplayName.get(wanted.toLowerCase()))
}

export const describeFalTypes = Object.entries(FAL_TYPES).map(([api, display]) => `${api} (${display})`).join(" or ")

/** The machine for a type and an optional sector, or why not (the caller names the flag or key). */
export const falMachine = (type: string, sector: Option.Option<string>): Either.Either<MachineChoice, string> =>
  Option.match(falTypeOf(type), {
    onNone: () => Either.left(`unknown fal instance type ${JSON.stringify(type)}; use ${describeFalTypes}`),
    onSome: (instanceType) =>
      Option.isSome(sector) && instanceType !== SECTOR_TYPE
        ? Either.left(`a sector (${sector.value}) applies only to ${SECTOR_TYPE}; ${instanceType} is a standalone machine: drop fal.sector / --fal-sector or use --type 8xH100-SXM`)
        : Either.right({ instanceType, sector })
  })

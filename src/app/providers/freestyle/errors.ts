/** Freestyle API failures as the core's errors: one exit code each (auth 3, sizing 2, the rest 1). */
import { CredentialsMissing, ProviderError, UsageError, type CrabboxError } from "../../../domain/errors.js"
import type { FreestyleApiError } from "../../../ports/FreestyleApi.js"

export const KEY_HINT = "set CRABBOX_FREESTYLE_API_KEY or FREESTYLE_API_KEY"

export const missingKey = () => new CredentialsMissing({
  provider: "freestyle",
  message: `provider=freestyle requires an API key: ${KEY_HINT} (environment only; there is no flag)`
})

export const fromApiError = (e: FreestyleApiError): CrabboxError => {
  if (e.code === "CUSTOM_SIZING_NOT_ALLOWED") {
    return new UsageError({
      message: `${e.message}: this Freestyle plan may not choose VM sizes`,
      hint: "unset freestyle.vcpus and freestyle.memoryGB (--freestyle-vcpus, --freestyle-memory-gb) to use the plan defaults, or ask Freestyle for custom sizing"
    })
  }
  if (e.kind === "auth" || e.kind === "permission") {
    return new CredentialsMissing({ provider: "freestyle", message: `${e.message} (the API key was refused; ${KEY_HINT})` })
  }
  return new ProviderError({ provider: "freestyle", message: e.message })
}

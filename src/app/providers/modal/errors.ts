/** ModalClientError (the port's) as the errors crabbox reports, with the fix in the message. */
import { CredentialsMissing, type CrabboxError, ProviderError } from "../../../domain/errors.js"
import type { ModalClientError } from "../../../ports/ModalClient.js"

export const fromModalClient = (e: ModalClientError): CrabboxError => {
  switch (e.kind) {
    case "missing-client":
      return new CredentialsMissing({ provider: "modal", message: `modal python client: ${e.message}` })
    case "auth":
      return new CredentialsMissing({
        provider: "modal",
        message: `Modal refused the credentials (${e.message}); run \`python3 -m modal setup\` or export MODAL_TOKEN_ID and MODAL_TOKEN_SECRET (never pass them as flags)`
      })
    case "not-found":
    case "transport":
    case "protocol":
      return new ProviderError({ provider: "modal", message: `modal ${e.operation} failed: ${e.message}` })
  }
}

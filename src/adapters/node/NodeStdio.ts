/** The Stdio port over the Node process's own streams. */
import { NodeSink, NodeStream } from "@effect/platform-node"
import { Effect, Layer, Option, Stream } from "effect"
import { Stdio } from "../../ports/Stdio.js"

const writeLine = (stream: NodeJS.WriteStream) => (line: string) =>
  Effect.async<void>((resume) => {
    stream.write(`${line}\n`, () => resume(Effect.void))
  })

const stdinStream = Stream.suspend(() =>
  NodeStream.fromReadable<never, Uint8Array>(() => process.stdin, () => undefined as never, { closeOnDone: false }))

export const layer = Layer.sync(Stdio, () =>
  Stdio.of({
    out: writeLine(process.stdout),
    err: writeLine(process.stderr),
    stdout: NodeSink.fromWritable(() => process.stdout, () => undefined as never, { endOnDone: false }),
    stderr: NodeSink.fromWritable(() => process.stderr, () => undefined as never, { endOnDone: false }),
    pipedStdin: process.stdin.isTTY ? Option.none() : Option.some(stdinStream),
    stdoutIsTty: process.stdout.isTTY === true,
    terminal: process.stdin.isTTY && process.stdout.isTTY
      ? Option.some({
        input: stdinStream,
        size: Effect.sync(() => ({ cols: process.stdout.columns ?? 80, rows: process.stdout.rows ?? 24 })),
        rawMode: Effect.acquireRelease(
          Effect.sync(() => process.stdin.setRawMode(true)),
          () => Effect.sync(() => process.stdin.setRawMode(false))
        ).pipe(Effect.asVoid)
      })
      : Option.none()
  }))

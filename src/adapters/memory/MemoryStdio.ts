/**
 * In-memory Stdio for tests: captures result lines, progress lines and raw output bytes;
 * stdin is whatever the test gives. `MemoryStdioOutput` stays visible for assertions.
 */
import { Context, Effect, Layer, Option, Ref, Sink, Stream } from "effect"
import { Stdio } from "../../ports/Stdio.js"

export class MemoryStdioOutput extends Context.Tag("crabbox/MemoryStdioOutput")<MemoryStdioOutput, {
  readonly out: Effect.Effect<ReadonlyArray<string>>
  readonly err: Effect.Effect<ReadonlyArray<string>>
  readonly stdoutText: Effect.Effect<string>
  readonly stderrText: Effect.Effect<string>
}>() {}

export const layer = (options: { readonly stdin?: string } = {}): Layer.Layer<Stdio | MemoryStdioOutput> =>
  Layer.effectContext(Effect.gen(function* () {
    const out = yield* Ref.make<ReadonlyArray<string>>([])
    const err = yield* Ref.make<ReadonlyArray<string>>([])
    const rawOut = yield* Ref.make("")
    const rawErr = yield* Ref.make("")
    const decoder = () => new TextDecoder()
    const collect = (ref: Ref.Ref<string>) => {
      const d = decoder()
      return Sink.forEach((chunk: Uint8Array) => Ref.update(ref, (s) => s + d.decode(chunk, { stream: true })))
    }
    const stdio = Stdio.of({
      out: (line) => Ref.update(out, (xs) => [...xs, line]),
      err: (line) => Ref.update(err, (xs) => [...xs, line]),
      stdout: collect(rawOut),
      stderr: collect(rawErr),
      pipedStdin: options.stdin === undefined ? Option.none() : Option.some(Stream.make(new TextEncoder().encode(options.stdin))),
      stdoutIsTty: false,
      terminal: Option.none()
    })
    return Context.make(Stdio, stdio).pipe(Context.add(MemoryStdioOutput, {
      out: Ref.get(out), err: Ref.get(err), stdoutText: Ref.get(rawOut), stderrText: Ref.get(rawErr)
    }))
  }))

import type { ResponseStreamEvent } from "openai/resources/responses/responses";
import { Observable, type OperatorFunction } from "rxjs";

/**
 * Emits the output text of a Responses API stream, piece by piece.
 *
 * Maps each `response.output_text.delta` event to its `delta`, the Responses
 * counterpart of `extractDelta()`; every other event (and an empty delta)
 * emits nothing. Errors and completion pass through.
 *
 * ## Examples
 * ```ts
 * import { of } from "rxjs";
 * import { extractOutputText } from "g4f-rx/operators";
 *
 * const delta = (text: string) => ({
 *   type: "response.output_text.delta" as const, item_id: "msg_1", output_index: 0,
 *   content_index: 0, delta: text, logprobs: [], sequence_number: 0,
 * });
 * of(delta("Hello"), delta(" there!")).pipe(extractOutputText()).subscribe(console.log);
 * // Hello
 * //  there!
 * ```
 */
export function extractOutputText(): OperatorFunction<ResponseStreamEvent, string> {
  return deltasOf("response.output_text.delta");
}

/** The non-empty string `delta` of every event of type `type`, in one subscriber (this runs once per token). */
export function deltasOf(type: ResponseStreamEvent["type"]): OperatorFunction<ResponseStreamEvent, string> {
  return (source) =>
    new Observable<string>((subscriber) =>
      source.subscribe({
        next: (event) => {
          if (typeof event !== "object" || event === null || event.type !== type || !("delta" in event)) return;
          const delta: unknown = event.delta;
          if (typeof delta === "string" && delta !== "") subscriber.next(delta);
        },
        error: (error: unknown) => subscriber.error(error),
        complete: () => subscriber.complete(),
      }),
    );
}

import type { ResponseStreamEvent } from "openai/resources/responses/responses";
import type { OperatorFunction } from "rxjs";
import { deltasOf } from "./extract-output-text.js";

/**
 * Emits the reasoning summary of a Responses API stream, piece by piece.
 *
 * Maps each `response.reasoning_summary_text.delta` event to its `delta`: the
 * summary of its reasoning a model such as OpenAI's o-series or GPT-5 writes
 * when the request asks for `reasoning: { summary: "auto" }`. Every other
 * event emits nothing. Errors and completion pass through.
 *
 * ## Examples
 * ```ts
 * import { of } from "rxjs";
 * import { extractReasoningSummary } from "g4f-rx/operators";
 *
 * of({
 *   type: "response.reasoning_summary_text.delta" as const, item_id: "rs_1", output_index: 0,
 *   summary_index: 0, delta: "Checking the units first.", sequence_number: 3,
 * }).pipe(extractReasoningSummary()).subscribe(console.log);
 * // Checking the units first.
 * ```
 */
export function extractReasoningSummary(): OperatorFunction<ResponseStreamEvent, string> {
  return deltasOf("response.reasoning_summary_text.delta");
}

import type { ChatCompletionChunk } from "openai/resources/chat/completions";
import { type MonoTypeOperatorFunction, Observable } from "rxjs";
import type { StoreWriteError, TurnInfo, TurnRecorder } from "./store.js";

/**
 * Keeps the answer passing through as a conversation turn: each chunk goes
 * to the turn's journal as it arrives, and the turn is finished as the
 * stream ends — `complete`, `error` (with the message), or `cancelled` when
 * the subscriber leaves first (Ctrl-C, a closed pipe, a new question). The
 * partial answer is kept in every case. `onFinish` gets what was kept, or `undefined` when the conversation was
 * removed while the turn streamed (nothing is kept then); and, when the turn could not be written (a full disk), why.
 * A failed write never stops the answer.
 */
export function recordTurn(
  recorder: TurnRecorder,
  onFinish: (info: TurnInfo | undefined, notKept: StoreWriteError | undefined) => void = () => undefined,
): MonoTypeOperatorFunction<ChatCompletionChunk> {
  return (source) =>
    new Observable<ChatCompletionChunk>((subscriber) => {
      let ended = false;
      const end = (status: "complete" | "error" | "cancelled", error?: unknown): void => {
        if (ended) return;
        ended = true;
        const kept = recorder.finish(status, error === undefined ? undefined : error instanceof Error ? error.message : JSON.stringify(error));
        onFinish(kept, recorder.notKept);
      };
      const subscription = source.subscribe({
        next: (chunk) => {
          recorder.chunk(chunk);
          subscriber.next(chunk);
        },
        error: (error: unknown) => {
          end("error", error);
          subscriber.error(error);
        },
        complete: () => {
          end("complete");
          subscriber.complete();
        },
      });
      return () => {
        subscription.unsubscribe();
        end("cancelled");
      };
    });
}

/**
 * Whole sentences for text-to-speech: the answer is re-cut into sentences as
 * it streams (`smooth` with `chunking: "sentence"`, no pacing), and each is
 * spoken in order while the rest of the answer is still arriving. Chinese and
 * Japanese sentences (ending in 。！？) are cut too.
 *
 *   npx tsx examples/tts-sentences.ts [--base-url URL] [--model NAME] [prompt]
 *
 * This script "speaks" by printing each sentence on its own line; put your TTS
 * engine's call in `speak` (it may return a Promise or an Observable).
 */
import type { ChatCompletionChunk } from "openai/resources/chat/completions";
import { type Observable, type ObservableInput, concat, concatMap, filter, from, ignoreElements, map, of } from "rxjs";
import { extractDelta, fromChatCompletion, smooth } from "g4f-rx";
import { exampleArguments } from "./support/example-arguments.js";
import { isEntryModule } from "./support/is-entry-module.js";

/** The answer's sentences, trimmed, each as soon as the next one has begun (the last on completion). */
export function sentencesForSpeech(chunks: Observable<ChatCompletionChunk>): Observable<string> {
  return chunks.pipe(
    extractDelta(),
    // Whole sentences however long one takes to arrive: no lag limit.
    smooth({ chunking: "sentence", delayMs: 0, maxLagMs: Number.POSITIVE_INFINITY }),
    map((sentence) => sentence.trim()),
    filter((sentence) => sentence !== ""),
  );
}

/**
 * Speaks each sentence after the previous one has finished (`concatMap`), and
 * emits the sentence once it has been spoken. Sentences that arrive meanwhile
 * wait their turn; unsubscribing stops the speech and the request.
 */
export function speakInOrder(sentences: Observable<string>, speak: (sentence: string) => ObservableInput<unknown>): Observable<string> {
  return sentences.pipe(concatMap((sentence) => concat(from(speak(sentence)).pipe(ignoreElements()), of(sentence))));
}

function main(): void {
  const { client, model, prompt } = exampleArguments({ model: "gpt-4", prompt: "Tell me three short facts about owls." });
  const speak = (sentence: string): Promise<void> => {
    process.stdout.write(`🔊 ${sentence}\n`);
    return Promise.resolve();
  };
  speakInOrder(sentencesForSpeech(fromChatCompletion(client, { model, messages: [{ role: "user", content: prompt }] })), speak).subscribe({
    error: (error: unknown) => {
      process.stderr.write(`Error: ${error instanceof Error ? error.message : String(error)}\n`);
      process.exitCode = 1;
    },
  });
}

if (isEntryModule(import.meta.url)) main();

import { timer } from "rxjs";
import { describe, it } from "vitest";
import { sentencesForSpeech, speakInOrder } from "../../examples/tts-sentences.js";
import { chunkWith, contentChunk } from "../support/chunks.js";
import { marbles } from "../support/marbles.js";

const chunks = {
  r: chunkWith([{ index: 0, delta: { role: "assistant", content: "" }, finish_reason: null }]),
  a: contentChunk("Owls can turn their heads. They hu"),
  b: contentChunk("nt at night. 猫头鹰很安静。"),
  c: contentChunk("Bye"),
  f: contentChunk(undefined, 0, "stop"),
};

describe("examples/tts-sentences.ts", () => {
  it("cuts the streamed answer into trimmed sentences, Chinese ones too, each as soon as the next has begun", marbles((m) => {
    const source = m.cold("  r-a---b---c-f|", chunks);
    const expected = m.cold("--x---y---z--(w|)", {
      x: "Owls can turn their heads.",
      y: "They hunt at night.",
      z: "猫头鹰很安静。",
      w: "Bye",
    });
    m.expect(sentencesForSpeech(source)).toBeObservable(expected);
    m.expect(source).toHaveSubscriptions("^------------!");
  }));

  it("speaks one sentence at a time, in order, while the answer keeps streaming", marbles((m) => {
    const source = m.cold("  a-b|", chunks);
    const speak = () => timer(4);
    // Each sentence is emitted once spoken: 4 frames each, queued behind the one before.
    const expected = m.cold("----x---y---(z|)", {
      x: "Owls can turn their heads.",
      y: "They hunt at night.",
      z: "猫头鹰很安静。",
    });
    m.expect(speakInOrder(sentencesForSpeech(source), speak)).toBeObservable(expected);
    m.expect(source).toHaveSubscriptions("^--!");
  }));
});

import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { forEachPiece } from "../../src/conversations/pieces.js";

let folder: string;
beforeAll(() => {
  folder = mkdtempSync(join(tmpdir(), "g4f-rx-pieces-"));
});
afterAll(() => rmSync(folder, { recursive: true, force: true }));

function piecesOf(text: string, size: number): string[] {
  const file = join(folder, "file.jsonl");
  writeFileSync(file, text);
  const pieces: string[] = [];
  expect(forEachPiece(file, (piece) => pieces.push(piece), size)).toBe(true);
  return pieces;
}

describe("forEachPiece", () => {
  it("gives the whole text in pieces of whole lines, a line longer than a piece whole, the last line without its newline too", () => {
    expect(piecesOf("ab\ncd\nef\n", 4)).toStrictEqual(["ab\n", "cd\n", "ef\n"]);
    // (The buffer grown for the long line stays so: the next piece is larger.)
    expect(piecesOf("a very long line\nx\nlast", 4)).toStrictEqual(["a very long line\nx\n", "last"]);
    expect(piecesOf("", 4)).toStrictEqual([]);
  });

  it("never cuts a UTF-8 character: the pieces join to the text, each of whole lines, at any piece size", () => {
    const line = fc.string({ unit: fc.constantFrom("a", "é", "✓", "🎉", " ", "\"", "\\"), maxLength: 20 });
    fc.assert(
      fc.property(fc.array(line, { maxLength: 30 }), fc.boolean(), fc.integer({ min: 1, max: 64 }), (lines, trailingNewline, size) => {
        const text = lines.join("\n") + (trailingNewline && lines.length > 0 ? "\n" : "");
        const pieces = piecesOf(text, size);
        expect(pieces.join("")).toBe(text);
        for (const piece of pieces.slice(0, -1)) expect(piece.endsWith("\n")).toBe(true);
        expect(pieces.every((piece) => !piece.includes("\uFFFD"))).toBe(true);
      }),
      { numRuns: 300 },
    );
  });

  it("says false when there is no file, and gives nothing", () => {
    const pieces: string[] = [];
    expect(forEachPiece(join(folder, "none.jsonl"), (piece) => pieces.push(piece))).toBe(false);
    expect(pieces).toStrictEqual([]);
  });
});

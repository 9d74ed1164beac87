/**
 * How many terminal cells text takes, for the renderer's tables and wrapped lines and the spinner's line. ASCII takes one cell per
 * character; other text is measured by `string-width` (a CJK character or an emoji takes two cells, a combining mark or
 * a zero-width joiner none), loaded only when such text first needs measuring: its Unicode tables and
 * `Intl.Segmenter` cost more start-up time than a plain question takes.
 */

/** `string-width` once loaded; `null` when it could not be. */
let stringWidth: ((text: string) => number) | null | undefined;
let loading: Promise<void> | undefined;

/** Loads `string-width` once; rejects when it cannot be loaded. */
export function loadStringWidth(): Promise<void> {
  loading ??= import("string-width").then(
    ({ default: width }) => {
      stringWidth = width;
    },
    (error: unknown) => {
      stringWidth = null;
      throw error;
    },
  );
  return loading;
}

/** Whether `text` is printable ASCII, one cell per character, which needs nothing loaded to measure. */
export function isPlainAscii(text: string): boolean {
  return /^[\x20-\x7e]*$/.test(text);
}

/** Whether loading `string-width` has settled (it is there, or could not be loaded): text beyond ASCII waits until then. */
export function widthsLoaded(): boolean {
  return stringWidth !== undefined;
}

/**
 * The cells `text` (without escape sequences) takes on a terminal; `undefined` for text beyond ASCII while
 * `string-width` is not loaded (or could not be), so that each caller chooses its own guess.
 */
export function cellWidth(text: string): number | undefined {
  if (isPlainAscii(text)) return text.length;
  return typeof stringWidth === "function" ? stringWidth(text) : undefined;
}

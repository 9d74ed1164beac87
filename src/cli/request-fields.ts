import { UsageError } from "./option-table.js";

/**
 * `-o KEY=VALUE`: request fields the command has no flag for (`seed`, `stop`, `top_p`, `reasoning_effort`,
 * `response_format`…), sent as given. VALUE is read as JSON when it is JSON (`42`, `true`, `["END"]`,
 * `{"type":"json_object"}`, `"42"` for the text 42), else as the text it is (`high`).
 */

/**
 * Fields the command writes itself, from the prompt or a flag of their own: `-o` cannot give them, so that one setting
 * has one way in (and a flag, the environment and the config file keep their order).
 */
const OWN_FIELDS: ReadonlyMap<string, string> = new Map([
  ["model", "-m MODEL"],
  ["messages", "the prompt, -s and -c"],
  ["input", "the prompt, -s and -c"],
  ["instructions", "-s TEXT"],
  ["stream", "--no-stream"],
  ["temperature", "-t N"],
  ["max_tokens", "--max-tokens N"],
]);

/** The fields `-o` gives, in order (a field given twice: the last wins). Throws `UsageError` for one that cannot be sent. */
export function requestFields(items: readonly string[]): Readonly<Record<string, unknown>> {
  const fields: Record<string, unknown> = {};
  for (const item of items) {
    const equals = item.indexOf("=");
    const key = equals < 0 ? item : item.slice(0, equals);
    if (equals < 0 || key.trim() === "") {
      throw new UsageError(`-o needs KEY=VALUE, got "${item}" (llm's "-o KEY VALUE" is "-o KEY=VALUE" here: -o seed=42)`);
    }
    const own = OWN_FIELDS.get(key);
    if (own !== undefined) throw new UsageError(`-o ${key}=…: "${key}" is set with ${own}`);
    // Defined as an own property, so that "__proto__" is a field like any other, not the object's prototype.
    Object.defineProperty(fields, key, { value: jsonOrText(item.slice(equals + 1)), enumerable: true, writable: true, configurable: true });
  }
  return fields;
}

function jsonOrText(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

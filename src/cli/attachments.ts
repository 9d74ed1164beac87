import { readFileSync } from "node:fs";
import { basename } from "node:path";
import type { ChatCompletionContentPart, ChatCompletionUserMessageParam } from "openai/resources/chat/completions";
import { isEndpointName } from "../endpoints.js";

/** An attachment that cannot be sent: not found, or neither an image nor text. A usage error. */
export class AttachmentError extends Error {
  override readonly name = "AttachmentError";
}

/** The image formats vision models take, by their first bytes. */
const IMAGE_SIGNATURES: readonly { readonly type: string; readonly matches: (bytes: Buffer) => boolean }[] = [
  { type: "image/png", matches: (bytes) => bytes.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])) },
  { type: "image/jpeg", matches: (bytes) => bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff },
  { type: "image/gif", matches: (bytes) => /^GIF8[79]a$/.test(bytes.subarray(0, 6).toString("latin1")) },
  { type: "image/webp", matches: (bytes) => bytes.subarray(0, 4).toString("latin1") === "RIFF" && bytes.subarray(8, 12).toString("latin1") === "WEBP" },
];

/** What one file becomes: an image part, or text inlined under its name. */
export type Attachment = { readonly kind: "image"; readonly name: string; readonly url: string } | { readonly kind: "text"; readonly name: string; readonly text: string };

/** Reads a file given with `-a`: an image (png, jpeg, gif, webp) by its content, or UTF-8 text. Throws `AttachmentError`. */
export function readAttachment(file: string): Attachment {
  let bytes: Buffer;
  try {
    bytes = readFileSync(file);
  } catch (error) {
    const code = typeof error === "object" && error !== null && "code" in error ? error.code : undefined;
    const reason = code === "ENOENT" ? "no such file" : code === "EISDIR" ? "is a directory" : error instanceof Error ? error.message : String(error);
    // Each -a is one file, commas included; a list written the other way gets the way to write it.
    const names = file.split(",").map((name) => name.trim());
    const hint =
      code !== "ENOENT"
        ? ""
        : names.length > 1
          ? ` (-a takes one file; repeat it: ${names.map((name) => `-a ${name}`).join(" ")})`
          : // mods' -a names the API (an endpoint): a name of one, not a file, is likely that habit.
            isEndpointName(file.toLowerCase())
            ? ` (-a attaches a file; to ask the ${file.toLowerCase()} endpoint: -e ${file.toLowerCase()})`
            : "";
    throw new AttachmentError(`-a ${file}: ${reason}${hint}`);
  }
  const name = basename(file);
  const image = IMAGE_SIGNATURES.find((signature) => signature.matches(bytes));
  if (image !== undefined) return { kind: "image", name, url: `data:${image.type};base64,${bytes.toString("base64")}` };
  const text = textOf(bytes);
  if (text === undefined) {
    throw new AttachmentError(`-a ${file}: not an image (png, jpeg, gif, webp) nor UTF-8 text; other files cannot be sent`);
  }
  return { kind: "text", name, text };
}

/** UTF-8 text without NUL bytes, or `undefined` for binary data. */
export function textOf(bytes: Uint8Array): string | undefined {
  if (bytes.includes(0)) return undefined;
  try {
    return new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    return undefined;
  }
}

/**
 * The user's message: the prompt, then each text file under its name; with
 * images, the content is parts — that text, then one `image_url` part per
 * image, as a data URL. Without images it stays a plain string, which every
 * server reads.
 */
export function userMessage(prompt: string, attachments: readonly Attachment[]): ChatCompletionUserMessageParam {
  const texts = attachments.flatMap((item) => (item.kind === "text" ? [`--- ${item.name} ---\n${item.text.replace(/\n$/, "")}\n--- end of ${item.name} ---`] : []));
  const text = [prompt, ...texts].filter((part) => part !== "").join("\n\n");
  const images = attachments.flatMap((item) => (item.kind === "image" ? [item] : []));
  if (images.length === 0) return { role: "user", content: text };
  const parts: ChatCompletionContentPart[] = [
    ...(text === "" ? [] : [{ type: "text" as const, text }]),
    ...images.map((image) => ({ type: "image_url" as const, image_url: { url: image.url } })),
  ];
  return { role: "user", content: parts };
}

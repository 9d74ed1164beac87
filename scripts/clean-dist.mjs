// Removes dist/ before a build: tsc never deletes the output of a source file that was renamed or removed, and a
// stale file would be packed into the tarball (the consumer suite's source-map check caught one).
import { rm } from "node:fs/promises";

await rm(new URL("../dist", import.meta.url), { recursive: true, force: true });

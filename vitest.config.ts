import { fileURLToPath } from "node:url";
import { defineConfig } from "vitest/config";

const here = (path: string): string => fileURLToPath(new URL(path, import.meta.url));

export default defineConfig({
  resolve: {
    alias: [
      { find: /^g4f-rx\/operators$/, replacement: here("./operators/index.ts") },
      { find: /^g4f-rx\/node$/, replacement: here("./src/node.ts") },
      { find: /^g4f-rx\/testing$/, replacement: here("./src/testing/index.ts") },
      { find: /^g4f-rx$/, replacement: here("./src/index.ts") },
    ],
  },
  test: {
    include: ["test/**/*.spec.ts", "test/**/*.test.ts"],
    testTimeout: 20_000,
    // One worker per core. Vitest's default leaves a core free (one worker on CI's two), but most of these tests wait
    // on child processes, servers, terminals and browsers, and one worker left the other core idle half the time.
    maxWorkers: "100%",
  },
});

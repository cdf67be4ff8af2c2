import { fileURLToPath } from 'node:url';
import { defineConfig, type TestProjectInlineConfiguration } from 'vitest/config';

const here = (path: string): string => fileURLToPath(new URL(path, import.meta.url));

// Tests run on the sources: every workspace package name resolves to its src/,
// so no build is needed to test a library. Only tests that spawn a CLI need the
// app built, and turbo's task graph does that first.
const alias = [
  { find: /^@opc-lite\/reader-client\/tui$/, replacement: here('./packages/reader-client/src/tui/index.ts') },
  {
    find: /^@opc-lite\/(protocol|ring-buffer|sawtooth-generator|tsdb|opc-server|reader-client|mqtt)$/,
    replacement: here('./packages/$1/src/index.ts'),
  },
];

const project = (dir: string, name: string): TestProjectInlineConfiguration => ({
  extends: true,
  test: {
    name,
    root: here(`./${dir}`),
    include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
  },
});

export default defineConfig({
  resolve: { alias },
  test: {
    projects: [
      project('packages/protocol', '@opc-lite/protocol'),
      project('packages/ring-buffer', '@opc-lite/ring-buffer'),
      project('packages/sawtooth-generator', '@opc-lite/sawtooth-generator'),
      project('packages/tsdb', '@opc-lite/tsdb'),
      project('packages/cluster-nats', '@opc-lite/cluster-nats'),
      project('packages/opc-server', '@opc-lite/opc-server'),
      project('packages/reader-client', '@opc-lite/reader-client'),
      project('packages/web', '@opc-lite/web'),
      project('packages/mqtt', '@opc-lite/mqtt'),
      project('apps/opc-server', 'opc-server'),
      project('apps/sensor', 'opc-sensor'),
      project('apps/reader', 'opc-reader'),
      project('tests/reliability', 'reliability'),
    ],
    testTimeout: 20_000,
    hookTimeout: 20_000,
  },
});

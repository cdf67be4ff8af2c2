import { defineConfig, type Options } from 'tsup';

/** The build every library shares: ESM + CJS + .d.ts, one entry per public subpath. */
export const libraryConfig = (entry: Record<string, string> = { index: 'src/index.ts' }, overrides: Options = {}) =>
  defineConfig({
    entry,
    format: ['esm', 'cjs'],
    dts: true,
    clean: true,
    sourcemap: true,
    target: 'node20',
    platform: 'node',
    splitting: false,
    treeshake: true,
    ...overrides,
  });

/** Apps ship one ESM CLI bundle; their committed bin file imports it. */
export const appConfig = (overrides: Options = {}) =>
  defineConfig({
    entry: { cli: 'src/cli.ts' },
    format: ['esm'],
    dts: false,
    clean: true,
    sourcemap: true,
    target: 'node20',
    platform: 'node',
    splitting: false,
    ...overrides,
  });

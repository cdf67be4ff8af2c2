/**
 * Builds the page (docs/HTTP.md, "The page") into a directory the handler serves: `src/page/app.ts` bundled with
 * uPlot by esbuild into `app-<hash>.js` and `app-<hash>.css`, `index.html` pointing at them, uPlot's licence, and
 * `assets.json`, the list of files to serve. The package's build writes it to `dist/page`; the browser tests
 * write it to a temporary directory. Not part of the package's API.
 */
import { copyFileSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { basename, join, resolve } from 'node:path';
import { build } from 'esbuild';

/** Where the page's sources are and where it goes. */
export interface PageBuildOptions {
  /** The page's sources (`src/page`). */
  srcDir: string;
  /** Where the built page goes; emptied first. */
  outDir: string;
  /** Minify the bundle (default true). */
  minify?: boolean;
}

/**
 * Builds the page; returns the files written (relative to `outDir`).
 *
 * @example
 * ```ts
 * await buildPage({ srcDir: 'src/page', outDir: 'dist/page' });
 * ```
 */
export async function buildPage(options: PageBuildOptions): Promise<string[]> {
  const srcDir = resolve(options.srcDir);
  const outDir = resolve(options.outDir);
  rmSync(outDir, { recursive: true, force: true });
  mkdirSync(outDir, { recursive: true });
  const result = await build({
    entryPoints: { app: join(srcDir, 'app.ts') },
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: ['es2020', 'chrome90', 'firefox90', 'safari14'],
    minify: options.minify ?? true,
    entryNames: '[name]-[hash]',
    outdir: outDir,
    metafile: true,
    logLevel: 'silent',
    banner: { js: '/*! opc-lite page; includes uPlot (MIT, (c) Leon Sorokin), see uPlot.LICENSE.txt */' },
  });
  const hashed = Object.keys(result.metafile.outputs).map((file) => basename(file));
  const js = hashed.find((f) => f.endsWith('.js'));
  const css = hashed.find((f) => f.endsWith('.css'));
  if (js === undefined || css === undefined)
    throw new Error(`the page build wrote no script or style (${hashed.join(', ')})`);
  const html = readFileSync(join(srcDir, 'index.html'), 'utf8').replaceAll('%APP_JS%', js).replaceAll('%APP_CSS%', css);
  writeFileSync(join(outDir, 'index.html'), html);
  const require = createRequire(join(srcDir, 'app.ts'));
  copyFileSync(join(require.resolve('uplot/package.json'), '..', 'LICENSE'), join(outDir, 'uPlot.LICENSE.txt'));
  const files = ['index.html', 'uPlot.LICENSE.txt', ...hashed];
  writeFileSync(join(outDir, 'assets.json'), `${JSON.stringify({ files, immutable: hashed }, null, 2)}\n`);
  return [...files, 'assets.json'];
}

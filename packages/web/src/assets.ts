/**
 * The page's files (docs/HTTP.md, "The page"), read once into memory from the directory the package's build
 * writes (`dist/page`): `index.html`, the bundles named by content hash, and `assets.json`, the list of files to
 * serve. Nothing else in the directory is served, so no request path ever reaches the file system.
 *
 * `index.html` is sent with `Cache-Control: no-cache` and an ETag (a browser revalidates it and gets 304); a
 * file whose name carries its content hash is `immutable` for a year. Text files are also kept gzipped, for
 * clients that accept it.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { WebError } from './errors.js';

/** One file of the page, ready to send. */
export interface Asset {
  readonly body: Buffer;
  /** The gzipped body, when smaller. */
  readonly gzip: Buffer | undefined;
  readonly type: string;
  readonly etag: string;
  readonly cacheControl: string;
}

/** What `assets.json` holds: the files to serve, and those named by their content hash. */
export interface AssetManifest {
  files: string[];
  immutable: string[];
}

const TYPES: Readonly<Record<string, string>> = Object.freeze({
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.txt': 'text/plain; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
});

/** The page the package ships: `dist/page` beside the built module. */
export function defaultPageDir(): string {
  return fileURLToPath(new URL('./page/', import.meta.url));
}

/**
 * Reads the page's files from `dir`, or returns undefined when `dir` holds no built page (no `assets.json`).
 *
 * @throws WebError `ERR_PAGE_DIR` when the page is there but cannot be read.
 * @example
 * ```ts
 * const assets = loadAssets(defaultPageDir());
 * assets?.get('/index.html')?.type; // 'text/html; charset=utf-8'
 * ```
 */
export function loadAssets(dir: string | URL): Map<string, Asset> | undefined {
  const root = typeof dir === 'string' ? dir : fileURLToPath(dir);
  const manifestPath = join(root, 'assets.json');
  if (!existsSync(manifestPath)) return undefined;
  const assets = new Map<string, Asset>();
  try {
    const manifest = JSON.parse(readFileSync(manifestPath, 'utf8')) as AssetManifest;
    const immutable = new Set(manifest.immutable);
    for (const file of manifest.files) {
      if (file.includes('..') || file.startsWith('/')) throw new Error(`bad file name ${JSON.stringify(file)}`);
      const body = readFileSync(join(root, file));
      const type = TYPES[extname(file)] ?? 'application/octet-stream';
      const zipped = type.startsWith('text/') || type.startsWith('application/json') ? gzipSync(body) : undefined;
      assets.set(`/${file}`, {
        body,
        gzip: zipped !== undefined && zipped.length < body.length ? zipped : undefined,
        type,
        etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 22)}"`,
        cacheControl: immutable.has(file) ? 'public, max-age=31536000, immutable' : 'no-cache',
      });
    }
  } catch (err) {
    throw new WebError('ERR_PAGE_DIR', `cannot read the page in ${root}: ${(err as Error).message}`, { cause: err });
  }
  if (!assets.has('/index.html')) throw new WebError('ERR_PAGE_DIR', `the page in ${root} has no index.html`);
  return assets;
}

import { get } from 'node:http';
import { gunzipSync } from 'node:zlib';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { buildTestPage } from './testing/browser.js';
import { Fixture } from './testing/fixture.js';

const fixture = new Fixture();
let page: { dir: string; remove: () => void };

beforeAll(async () => {
  page = await buildTestPage();
}, 60_000);
afterEach(() => fixture.cleanup());
afterAll(() => page.remove());

describe('the page files (docs/HTTP.md, "The page")', () => {
  it('sends index.html to revalidate by ETag, and the hashed bundles to keep for a year', async () => {
    const { base } = await fixture.start({ web: { pageDir: page.dir } });
    const index = await fixture.request(`${base}/`);
    expect(index.status).toBe(200);
    expect(index.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(index.headers['cache-control']).toBe('no-cache');
    expect(index.headers['content-security-policy']).toMatch(/^default-src 'self'/);
    const again = await fixture.request(`${base}/`, { headers: { 'If-None-Match': String(index.headers.etag) } });
    expect([again.status, again.text]).toEqual([304, '']);
    const script = /src="([^"]+\.js)"/.exec(index.text)![1]!;
    const style = /href="([^"]+\.css)"/.exec(index.text)![1]!;
    expect(script).toMatch(/^app-[A-Z0-9]+\.js$/);
    for (const [file, type] of [
      [script, 'text/javascript; charset=utf-8'],
      [style, 'text/css; charset=utf-8'],
    ] as const) {
      const asset = await fixture.request(`${base}/${file}`);
      expect([asset.status, asset.headers['content-type'], asset.headers['cache-control']]).toEqual([
        200,
        type,
        'public, max-age=31536000, immutable',
      ]);
    }
  });

  it('gzips text for a client that accepts it', async () => {
    const { base } = await fixture.start({ web: { pageDir: page.dir } });
    const plain = await fixture.request(`${base}/`);
    const zipped = await new Promise<Buffer>((resolve, reject) => {
      get(`${base}/`, { headers: { 'Accept-Encoding': 'gzip' } }, (res) => {
        expect(res.headers['content-encoding']).toBe('gzip');
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve(Buffer.concat(chunks)));
      }).on('error', reject);
    });
    expect(gunzipSync(zipped).toString('utf8')).toBe(plain.text);
  });

  it('serves only the files the build listed', async () => {
    const { base } = await fixture.start({ web: { pageDir: page.dir } });
    for (const path of ['/assets.json', '/../package.json', '/%2e%2e/package.json', '/index.htm']) {
      expect([path, (await fixture.request(`${base}${path}`)).status]).toEqual([path, 404]);
    }
    expect((await fixture.request(`${base}/uPlot.LICENSE.txt`)).text).toContain('MIT');
  });
});

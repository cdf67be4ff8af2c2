import zlib from 'node:zlib';
import { Authenticator, hashToken, parseAuthFile } from '@opc-lite/opc-server';
import { afterEach, describe, expect, it } from 'vitest';
import { Fixture } from './testing/fixture.js';

const fixture = new Fixture();
afterEach(() => fixture.cleanup());

describe('POST /write and /api/v2/write (docs/INGEST.md)', () => {
  it('stores v1 line protocol with nanosecond timestamps and answers 204', async () => {
    const { base, server } = await fixture.start();
    const body = 'weather,site=roof temp=21.5,hum=40i,note="ok" 1764316800000000000\n';
    const answer = await fixture.request(`${base}/write?db=home`, { method: 'POST', body });
    expect(answer.status).toBe(204);
    expect(server.store.get('weather/roof/temp')?.lastTimestampMs).toBe(1764316800000);
    expect(server.store.get('weather/roof/hum')?.lastValue).toBe(40);
    const stats = server.stats();
    expect(stats.ingest_http_accepted).toBe(2);
    expect(stats.ingest_http_ignored).toBe(1);
  });

  it('honours precision on v2 and ignores org and bucket', async () => {
    const { base, server } = await fixture.start();
    const answer = await fixture.request(`${base}/api/v2/write?org=o&bucket=b&precision=s`, {
      method: 'POST',
      body: 'cpu,host=nas usage=0.5 1764316800',
    });
    expect(answer.status).toBe(204);
    expect(server.store.get('cpu/nas/usage')?.lastTimestampMs).toBe(1764316800000);
  });

  it('refuses an unknown precision or argument with 400 naming it', async () => {
    const { base } = await fixture.start();
    const bad = await fixture.request(`${base}/api/v2/write?precision=h`, { method: 'POST', body: 'a v=1' });
    expect(bad.status).toBe(400);
    expect(bad.json<{ error: { message: string } }>().error.message).toMatch(/precision must be one of/);
    const arg = await fixture.request(`${base}/write?frob=1`, { method: 'POST', body: 'a v=1' });
    expect(arg.status).toBe(400);
    expect(arg.text).toContain("unknown argument 'frob'");
  });

  it('stores the good lines and answers 400 with the first bad line and its reason', async () => {
    const { base, server } = await fixture.start();
    const answer = await fixture.request(`${base}/api/v2/write`, {
      method: 'POST',
      body: 'good v=1\nbad v=nan\nworse\n',
    });
    expect(answer.status).toBe(400);
    const json = answer.json<{ message: string; accepted: number; rejected: number }>();
    expect(json.accepted).toBe(1);
    expect(json.rejected).toBe(2);
    expect(json.message).toMatch(/^2 lines rejected: bad-number "bad v=nan"/);
    expect(server.store.get('good/v')?.lastValue).toBe(1);
    expect(server.stats().ingest_http_rejected).toBe(2);
  });

  it('inflates a gzip body, and answers 413 when it inflates past the bound', async () => {
    const { base, server } = await fixture.start({ web: { maxBodyBytes: 64 * 1024 } });
    const lines = Array.from({ length: 1000 }, (_, i) => `m,t=x f=${i} ${1764316800 + i}`).join('\n');
    const ok = await fixture.request(`${base}/api/v2/write?precision=s`, {
      method: 'POST',
      headers: { 'Content-Encoding': 'gzip' },
      body: zlib.gzipSync(lines),
    });
    expect(ok.status).toBe(204);
    expect(server.store.get('m/x/f')?.seq).toBe(1000);
    const bomb = zlib.gzipSync(Buffer.alloc(10 * 1024 * 1024, 0x20));
    expect(bomb.length).toBeLessThan(64 * 1024);
    const big = await fixture.request(`${base}/api/v2/write`, {
      method: 'POST',
      headers: { 'Content-Encoding': 'gzip' },
      body: bomb,
    });
    expect(big.status).toBe(413);
    expect(big.text).toContain('once inflated');
    const broken = await fixture.request(`${base}/write`, {
      method: 'POST',
      headers: { 'Content-Encoding': 'gzip' },
      body: Buffer.from('not gzip at all'),
    });
    expect(broken.status).toBe(400);
  });

  it('answers 413 to a plain body over the bound, and the server goes on', async () => {
    const { base, server } = await fixture.start({ web: { maxBodyBytes: 64 * 1024 } });
    const big = await fixture.request(`${base}/write`, { method: 'POST', body: Buffer.alloc(1024 * 1024, 0x61) });
    expect(big.status).toBe(413);
    const after = await fixture.request(`${base}/write`, { method: 'POST', body: 'after v=2' });
    expect(after.status).toBe(204);
    expect(server.store.get('after/v')?.lastValue).toBe(2);
  });
});

describe('the official @influxdata/influxdb-client (v2 write API)', () => {
  it('writes points, escaped names and a gzip-compressed batch that opc-lite stores', async () => {
    const { InfluxDB, Point } = await import('@influxdata/influxdb-client');
    const { base, server } = await fixture.start();
    const client = new InfluxDB({ url: base, token: 'unused' });
    const write = client.getWriteApi('my-org', 'my-bucket', 's', { maxRetries: 0, batchSize: 10_000 });
    write.writePoint(
      new Point('room temp').tag('floor', 'first,east').floatField('celsius', 21.5).timestamp(1764316800),
    );
    for (let i = 0; i < 200; i++) {
      write.writePoint(
        new Point('ramp')
          .tag('host', 'nas')
          .intField('step', i)
          .timestamp(1764316800 + i),
      );
    }
    await write.close();
    expect(server.store.get('room_temp/first_east/celsius')?.lastValue).toBe(21.5);
    expect(server.store.get('ramp/nas/step')?.seq).toBe(200);
    expect(server.store.get('ramp/nas/step')?.lastTimestampMs).toBe((1764316800 + 199) * 1000);
    expect(server.stats().ingest_http_accepted).toBe(201);
  });
});

describe('InfluxDB clients with an auth file (docs/SECURITY.md, "InfluxDB clients")', () => {
  async function start() {
    const cheap = { ln: 4, r: 8, p: 1 };
    const text = [
      `token writer ${await hashToken('writer-token', cheap)} write=room_temp/*`,
      `token viewer ${await hashToken('viewer-token', cheap)} read=*`,
      `token other ${await hashToken('other-token', cheap)} write=other/*`,
    ].join('\n');
    const auth = new Authenticator(parseAuthFile(text), { failureDelayMs: 0 });
    return fixture.start({ server: { auth } });
  }

  async function clientWrite(base: string, token: string | undefined, field: string): Promise<unknown> {
    const { InfluxDB, Point } = await import('@influxdata/influxdb-client');
    const client = new InfluxDB(token === undefined ? { url: base } : { url: base, token });
    const write = client.getWriteApi('my-org', 'my-bucket', 's', { maxRetries: 0 });
    write.writePoint(new Point('room temp').tag('floor', 'first').floatField(field, 21.5).timestamp(1764316800));
    return write.close().then(
      () => undefined,
      (err: unknown) => err,
    );
  }

  it('stores what the official client writes with Authorization: Token of a token with the right', async () => {
    const { base, server } = await start();
    expect(await clientWrite(base, 'writer-token', 'celsius')).toBeUndefined();
    expect(server.store.get('room_temp/first/celsius')?.lastValue).toBe(21.5);
  });

  it('refuses the official client with 403 for a token without the right, 401 for none or an unknown one', async () => {
    const { base, server } = await start();
    const forbidden = await clientWrite(base, 'other-token', 'a');
    expect(forbidden).toMatchObject({ statusCode: 403 });
    expect(String((forbidden as { body: string }).body)).toContain('token other may not write room_temp/first/a');
    const reader = await clientWrite(base, 'viewer-token', 'a');
    expect(reader).toMatchObject({ statusCode: 403 });
    expect(String((reader as { body: string }).body)).toContain('token viewer may write no sensor');
    expect(await clientWrite(base, undefined, 'b')).toMatchObject({ statusCode: 401 });
    expect(await clientWrite(base, 'nope', 'c')).toMatchObject({ statusCode: 401 });
    expect(server.store.size).toBe(0);
  });

  it('checks every sensor of a body: one it may not write refuses the whole body', async () => {
    const { base, server } = await start();
    const answer = await fixture.request(`${base}/api/v2/write`, {
      method: 'POST',
      headers: { Authorization: 'Token writer-token' },
      body: 'room\\ temp,floor=x v=1\nother v=2\n',
    });
    expect(answer.status).toBe(403);
    expect(answer.text).toContain('token writer may not write other/v; nothing was stored');
    expect(server.store.size).toBe(0);
  });

  it('takes the v1 p argument, the Basic password and Bearer as the token', async () => {
    const { base, server } = await start();
    const v1 = await fixture.request(`${base}/write?db=home&u=me&p=writer-token`, {
      method: 'POST',
      body: 'room\\ temp,floor=x v=1',
    });
    expect(v1.status).toBe(204);
    const basic = await fixture.request(`${base}/write?db=home`, {
      method: 'POST',
      headers: { Authorization: `Basic ${Buffer.from('me:writer-token').toString('base64')}` },
      body: 'room\\ temp,floor=x v=2',
    });
    expect(basic.status).toBe(204);
    const bearer = await fixture.request(`${base}/api/v2/write`, {
      method: 'POST',
      headers: { Authorization: 'Bearer writer-token' },
      body: 'room\\ temp,floor=x v=3',
    });
    expect(bearer.status).toBe(204);
    expect(server.store.get('room_temp/x/v')?.seq).toBe(3);
    const wrongP = await fixture.request(`${base}/write?u=me&p=viewer-token`, {
      method: 'POST',
      body: 'room_temp/x v=4',
    });
    expect(wrongP.status).toBe(403);
  });

  it('answers 401 naming the accepted forms for a malformed header, and takes Token only on the Influx routes', async () => {
    const { base } = await start();
    const odd = await fixture.request(`${base}/api/v2/write`, {
      method: 'POST',
      headers: { Authorization: 'Digest x' },
      body: 'a v=1',
    });
    expect(odd.status).toBe(401);
    expect(odd.text).toContain('expected Authorization: Token <token>, Bearer <token> or Basic <user:token>');
    const noPassword = await fixture.request(`${base}/write`, {
      method: 'POST',
      headers: { Authorization: `Basic ${Buffer.from('me').toString('base64')}` },
      body: 'a v=1',
    });
    expect(noPassword.status).toBe(401);
    const native = await fixture.request(`${base}/api/sensors`, { headers: { Authorization: 'Token viewer-token' } });
    expect(native.status).toBe(401);
  });
});

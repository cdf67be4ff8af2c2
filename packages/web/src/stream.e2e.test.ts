import { afterEach, describe, expect, it } from 'vitest';
import { Fixture } from './testing/fixture.js';

const fixture = new Fixture();
afterEach(() => fixture.cleanup());

type Wire = [string, number, number, number];
const seqs = (readings: Wire[]): string[] => readings.map(([name, seq]) => `${name}:${seq}`);

describe('GET /api/stream (docs/HTTP.md)', () => {
  it('starts with retry and hello, then sends the readings of one datagram as one event', async () => {
    const { base, udpPort } = await fixture.start({ web: { retryMs: 1234 } });
    const stream = await fixture.stream(`${base}/api/stream?pattern=ramp*`);
    expect(stream.status).toBe(200);
    expect(stream.headers['content-type']).toBe('text/event-stream; charset=utf-8');
    const hello = await stream.next('hello');
    expect(hello.id).toBe('');
    expect(JSON.parse(hello.data)).toEqual({
      now: expect.any(Number) as number,
      heartbeatMs: 15000,
      pattern: 'ramp*',
      after: {},
    });
    await fixture.udp(udpPort, 'ramp 0.5 1764316800.125\nramp2 1 1764316800.25\nother 3\nramp 0.75 1764316800.5');
    const event = await stream.next('readings');
    expect(event.id).toBe('ramp:2,ramp2:1');
    expect(JSON.parse(event.data)).toEqual([
      ['ramp', 1, 1764316800125, 0.5],
      ['ramp2', 1, 1764316800250, 1],
      ['ramp', 2, 1764316800500, 0.75],
    ]);
  });

  it('sends heartbeats carrying the clock', async () => {
    const { base } = await fixture.start({ web: { heartbeatMs: 20, now: () => 42 } });
    const stream = await fixture.stream(`${base}/api/stream`);
    const beat = await stream.next('heartbeat');
    expect([beat.id, JSON.parse(beat.data)]).toEqual([undefined, { now: 42 }]);
  });

  it('resumes from Last-Event-ID with the readings sent while away, then live ones, for every sensor', async () => {
    const { base, udpPort } = await fixture.start();
    const first = await fixture.stream(`${base}/api/stream`);
    await fixture.udp(udpPort, 'a 1\nb 1\na 2');
    expect(seqs(await first.readings(3))).toEqual(['a:1', 'b:1', 'a:2']);
    expect(first.lastId).toBe('a:2,b:1');
    first.close();
    // Sent while no stream listens.
    await fixture.udp(udpPort, 'a 3\nb 2\nb 3\nc 1');
    const watcher = await fixture.stream(`${base}/api/stream?backlog=1`);
    expect(seqs(await watcher.readings(3))).toEqual(['a:3', 'b:3', 'c:1']);
    const second = await fixture.stream(`${base}/api/stream`, { 'Last-Event-ID': first.lastId });
    const hello = await second.next('hello');
    expect(JSON.parse(hello.data)).toMatchObject({ after: { a: 2, b: 1 } });
    // c appeared while away and has no resume point: it starts live, as with AFTER.
    expect(seqs(await second.readings(3))).toEqual(['a:3', 'b:2', 'b:3']);
    await fixture.udp(udpPort, 'c 2\na 4');
    expect(seqs(await second.readings(2))).toEqual(['c:2', 'a:4']);
    expect(second.lastId).toBe('a:4,b:3,c:2');
  });

  it('resumes across a restart of a server with storage, with no gap and no repeat', async () => {
    const dir = fixture.tempDir();
    const one = await fixture.start({ server: { storage: { dir } } });
    const before = await fixture.stream(`${one.base}/api/stream?pattern=ramp`);
    await fixture.udp(one.udpPort, 'ramp 1\nramp 2\nramp 3');
    expect(seqs(await before.readings(3))).toEqual(['ramp:1', 'ramp:2', 'ramp:3']);
    const lastId = before.lastId;
    before.close();
    await one.web.close();
    await one.server.close();
    const two = await fixture.start({ server: { storage: { dir } } });
    await fixture.udp(two.udpPort, 'ramp 4\nramp 5');
    await expect.poll(() => two.server.store.get('ramp')?.seq).toBe(5);
    const after = await fixture.stream(`${two.base}/api/stream?pattern=ramp`, { 'Last-Event-ID': lastId });
    expect(seqs(await after.readings(2))).toEqual(['ramp:4', 'ramp:5']);
    await fixture.udp(two.udpPort, 'ramp 6');
    expect(seqs(await after.readings(1))).toEqual(['ramp:6']);
  });

  it('starts from where every matching sensor is, so a stream that saw no reading still resumes', async () => {
    const { base, udpPort, server } = await fixture.start();
    await fixture.udp(udpPort, 'a 1\nb 1\nb 2\nother 1');
    await expect.poll(() => server.store.size).toBe(3);
    const first = await fixture.stream(`${base}/api/stream`);
    const hello = await first.next('hello');
    expect(hello.id).toBe('a:1,b:2,other:1');
    first.close();
    await fixture.udp(udpPort, 'b 3');
    await expect.poll(() => server.store.get('b')?.seq).toBe(3);
    const second = await fixture.stream(`${base}/api/stream`, { 'Last-Event-ID': first.lastId });
    expect(seqs(await second.readings(1))).toEqual(['b:3']);
  });

  it('takes the resume point from after= when there is no Last-Event-ID, the header winning over it', async () => {
    const { base, udpPort, server } = await fixture.start();
    await fixture.udp(udpPort, 'ramp 1\nramp 2\nramp 3');
    await expect.poll(() => server.store.get('ramp')?.seq).toBe(3);
    const byQuery = await fixture.stream(`${base}/api/stream?after=ramp:1`);
    expect(seqs(await byQuery.readings(2))).toEqual(['ramp:2', 'ramp:3']);
    const both = await fixture.stream(`${base}/api/stream?after=ramp:0`, { 'Last-Event-ID': 'ramp:2' });
    expect(seqs(await both.readings(1))).toEqual(['ramp:3']);
  });

  it('resends everything held when the point is above the sensor seq (a server that numbers anew)', async () => {
    const { base, udpPort, server } = await fixture.start();
    await fixture.udp(udpPort, 'ramp 1\nramp 2');
    await expect.poll(() => server.store.get('ramp')?.seq).toBe(2);
    const stream = await fixture.stream(`${base}/api/stream`, { 'Last-Event-ID': 'ramp:40' });
    expect(JSON.parse((await stream.next('hello')).data)).toMatchObject({ after: { ramp: 0 } });
    expect(seqs(await stream.readings(2))).toEqual(['ramp:1', 'ramp:2']);
  });

  it('sends a resumed sensor in pages, each its own event, and keeps its live readings behind them', async () => {
    const { base, server } = await fixture.start({ server: { historyCapacity: 5000 } });
    server.ingest(Buffer.from(Array.from({ length: 2500 }, (_, i) => `ramp ${i}`).join('\n')));
    const stream = await fixture.stream(`${base}/api/stream`, { 'Last-Event-ID': 'ramp:0' });
    const first = await stream.next('readings');
    server.ingest(Buffer.from('ramp -1')); // seq 2501, while the past is being sent
    const pages = [JSON.parse(first.data) as Wire[]];
    while (pages.flat().length < 2501) pages.push(JSON.parse((await stream.next('readings')).data) as Wire[]);
    expect(pages[0]).toHaveLength(1000);
    expect(pages.every((page) => page.length <= 1000)).toBe(true);
    const all = pages.flat().map(([, seq]) => seq);
    expect(all).toEqual(Array.from({ length: 2501 }, (_, i) => i + 1));
  });

  it('refuses a bad Last-Event-ID or after with 400, and a stream past maxStreams with 503', async () => {
    const { base } = await fixture.start({ web: { maxStreams: 1 } });
    const bad = await fixture.request(`${base}/api/stream`, { headers: { 'Last-Event-ID': 'ramp' } });
    expect(bad.status).toBe(400);
    expect(bad.json<{ error: { message: string } }>().error.message).toBe(
      'Last-Event-ID is not a stream id (name:seq, comma-separated): "ramp"',
    );
    const badQuery = await fixture.request(`${base}/api/stream?after=a:1,a:2`);
    expect(badQuery.json<{ error: { message: string } }>().error.message).toMatch(
      /^argument 'after' is not a stream id/,
    );
    await fixture.stream(`${base}/api/stream`);
    const second = await fixture.request(`${base}/api/stream`);
    expect([second.status, second.headers['retry-after']]).toEqual([503, '5']);
  });

  it('drops a stream that does not read and counts it, while a reading one goes on', async () => {
    const { base, server, web } = await fixture.start({
      server: { historyCapacity: 16 },
      web: { streamBufferBytes: 64 * 1024, streamDrainTimeoutMs: 100_000 },
    });
    const stuck = await fixture.stream(`${base}/api/stream`);
    stuck.pause();
    const reading = await fixture.stream(`${base}/api/stream?pattern=marker`);
    const line = Array.from({ length: 2000 }, (_, i) => `load${i % 50} ${i}`).join('\n');
    // Readings until the stuck stream's socket buffers are full and its own budget is passed.
    for (let i = 0; i < 2000 && web.handler.streams === 2; i++) {
      server.ingest(Buffer.from(line));
      await new Promise((resolve) => setImmediate(resolve));
    }
    expect(web.handler.streams).toBe(1);
    // Once it reads again, the stuck client finds its connection closed after what was already sent.
    stuck.resume();
    await expect.poll(() => stuck.ended).toBe(true);
    server.ingest(Buffer.from('marker 1'));
    expect(seqs(await reading.readings(1))).toEqual(['marker:1']);
    const metrics = await fixture.request(`${base}/metrics`);
    expect(metrics.text).toMatch(/^opc_http_streams_dropped_total 1$/m);
    expect(metrics.text).toMatch(/^opc_http_streams 1$/m);
  });

  it('ends every stream cleanly when the web server closes', async () => {
    const { base, web } = await fixture.start();
    const stream = await fixture.stream(`${base}/api/stream`);
    await stream.next('hello');
    await web.close();
    await expect.poll(() => stream.ended).toBe(true);
  });
});

import { afterEach, describe, expect, it, vi } from 'vitest';
import { Fixture } from './testing/fixture.js';

const fixture = new Fixture();
afterEach(() => fixture.cleanup());

const NOW = 1_764_316_800_000;

interface ErrorBody {
  error: { code: string; message: string };
}

describe('GET /api/sensors (docs/HTTP.md)', () => {
  it('lists the sensors sent over UDP with their latest reading and loss counters', async () => {
    const { base, udpPort, server } = await fixture.start();
    await fixture.udp(udpPort, 'ramp 0.5 1764316800.125 1\nramp 0.75 1764316800.25 3\nplant1/boiler 21.5 1764316801');
    await expect.poll(() => server.store.size).toBe(2);
    const answer = await fixture.request(`${base}/api/sensors`);
    expect(answer.status).toBe(200);
    expect(answer.headers['content-type']).toBe('application/json; charset=utf-8');
    expect(answer.json()).toEqual({
      sensors: [
        {
          name: 'ramp',
          value: 0.75,
          ts: 1764316800250,
          seq: 2,
          count: 2,
          loss: { lost: 1, duplicate: 0, late: 0, restarts: 0 },
        },
        {
          name: 'plant1/boiler',
          value: 21.5,
          ts: 1764316801000,
          seq: 1,
          count: 1,
          loss: { lost: 0, duplicate: 0, late: 0, restarts: 0 },
        },
      ],
    });
    const filtered = await fixture.request(`${base}/api/sensors?pattern=plant1/*`);
    expect(filtered.json<{ sensors: { name: string }[] }>().sensors.map((s) => s.name)).toEqual(['plant1/boiler']);
  });

  it('answers one sensor by its name, slashes included, and 404 with a JSON error for an unknown one', async () => {
    const { base, udpPort, server } = await fixture.start();
    await fixture.udp(udpPort, 'plant1/boiler 21.5 1764316801');
    await expect.poll(() => server.store.size).toBe(1);
    const one = await fixture.request(`${base}/api/sensors/plant1/boiler`);
    expect(one.status).toBe(200);
    expect(one.json()).toMatchObject({ name: 'plant1/boiler', value: 21.5, seq: 1 });
    const unknown = await fixture.request(`${base}/api/sensors/nope`);
    expect(unknown.status).toBe(404);
    expect(unknown.json()).toEqual({ error: { code: 'not-found', message: 'no sensor named nope' } });
    const bad = await fixture.request(`${base}/api/sensors/bad%20name`);
    expect(bad.status).toBe(400);
    expect(bad.json<ErrorBody>().error.code).toBe('bad-args');
  });

  it('refuses a bad pattern, an unknown argument and a wrong method, naming each', async () => {
    const { base } = await fixture.start();
    const pattern = await fixture.request(`${base}/api/sensors?pattern=a%3Fb`);
    expect(pattern.status).toBe(400);
    expect(pattern.json<ErrorBody>().error.message).toMatch(/^argument 'pattern' is not a pattern: "a\?b"/);
    const unknown = await fixture.request(`${base}/api/sensors?patern=a`);
    expect(unknown.status).toBe(400);
    expect(unknown.json<ErrorBody>().error.message).toBe("unknown argument 'patern' (known: pattern)");
    const post = await fixture.request(`${base}/api/sensors`, { method: 'POST' });
    expect(post.status).toBe(405);
    expect(post.headers.allow).toBe('GET, HEAD');
    const route = await fixture.request(`${base}/api/nothing`);
    expect(route.status).toBe(404);
    expect(route.json<ErrorBody>().error).toEqual({ code: 'not-found', message: 'no such route: /api/nothing' });
  });
});

describe('GET /api/range (docs/HTTP.md; docs/PROTOCOL.md, "History: RANGE")', () => {
  const send = async (): Promise<{ base: string }> => {
    const started = await fixture.start({ server: { now: () => NOW }, web: { now: () => NOW } });
    // Sender timestamps in seconds: 10 s, 5 s, 2 s and 1 s before now, the last two at the same ms.
    await fixture.udp(
      started.udpPort,
      ['ramp 0.1 1764316790', 'ramp 0.2 1764316795', 'ramp 0.3 1764316798', 'ramp 0.4 1764316798'].join('\n'),
    );
    await expect.poll(() => started.server.store.get('ramp')?.count).toBe(4);
    return started;
  };

  it('answers the raw readings of a span, resolving relative times with the clock', async () => {
    const { base } = await send();
    const answer = await fixture.request(`${base}/api/range?sensor=ramp&from=-6s&to=now`);
    expect(answer.status).toBe(200);
    expect(answer.json()).toEqual({
      sensor: 'ramp',
      from: NOW - 6000,
      to: NOW,
      readings: [
        { ts: 1764316795000, value: 0.2, seq: 2 },
        { ts: 1764316798000, value: 0.3, seq: 3 },
        { ts: 1764316798000, value: 0.4, seq: 4 },
      ],
      more: null,
    });
  });

  it('cuts at limit between two timestamps, with more and a Link to the rest', async () => {
    const { base } = await send();
    const first = await fixture.request(`${base}/api/range?sensor=ramp&from=0&limit=2`);
    const body = first.json<{ readings: { seq: number }[]; more: number }>();
    expect(body.readings.map((r) => r.seq)).toEqual([1, 2]);
    expect(body.more).toBe(1764316798000);
    expect(first.headers.link).toBe(`</api/range?sensor=ramp&from=1764316798000&limit=2&to=${NOW}>; rel="next"`);
    const next = await fixture.request(`${base}${/<([^>]+)>/.exec(String(first.headers.link))![1]}`);
    // The two readings at the cut's timestamp come together: nothing repeated, nothing skipped.
    expect(next.json<{ readings: { seq: number }[]; more: null }>()).toMatchObject({
      readings: [{ seq: 3 }, { seq: 4 }],
      more: null,
    });
    expect(next.headers.link).toBeUndefined();
  });

  it('answers buckets with points, empty buckets left out', async () => {
    const { base } = await send();
    const answer = await fixture.request(`${base}/api/range?sensor=ramp&from=${NOW - 10_000}&to=${NOW}&points=5`);
    expect(answer.json()).toEqual({
      sensor: 'ramp',
      from: NOW - 10_000,
      to: NOW,
      points: 5,
      buckets: [
        { start: NOW - 10_000, count: 1, min: 0.1, max: 0.1, mean: 0.1, first: 0.1, last: 0.1 },
        { start: NOW - 6000, count: 1, min: 0.2, max: 0.2, mean: 0.2, first: 0.2, last: 0.2 },
        { start: NOW - 2000, count: 2, min: 0.3, max: 0.4, mean: 0.35, first: 0.3, last: 0.4 },
      ],
    });
  });

  it('gives CSV with a header holding the same rows as the JSON, raw and bucketed', async () => {
    const { base } = await send();
    for (const query of ['from=0&limit=3', `from=${NOW - 10_000}&to=${NOW}&points=7`]) {
      const json = await fixture.request(`${base}/api/range?sensor=ramp&${query}`);
      const csv = await fixture.request(`${base}/api/range?sensor=ramp&${query}&format=csv`);
      expect(csv.status).toBe(200);
      expect(csv.headers['content-type']).toBe('text/csv; charset=utf-8; header=present');
      const [header, ...lines] = csv.text.trimEnd().split('\n');
      const columns = header!.split(',');
      const body = json.json<{ readings?: Record<string, number>[]; buckets?: Record<string, number>[] }>();
      const rows = body.readings ?? body.buckets!;
      expect(rows.length).toBeGreaterThan(0);
      expect(lines).toEqual(rows.map((row) => columns.map((c) => String(row[c])).join(',')));
      // The CSV's continuation asks for CSV again.
      expect(String(csv.headers.link).replace('&format=csv', '')).toBe(String(json.headers.link));
    }
  });

  it('refuses bad arguments with 400 naming the argument, and an unknown sensor with 404', async () => {
    const { base } = await send();
    const cases: [string, number, string][] = [
      ['from=0', 400, "argument 'sensor' is required (a sensor name)"],
      ['sensor=ramp', 400, "argument 'from' is required (epoch ms, -<n><ms|s|m|h|d> or now)"],
      [
        'sensor=ramp&from=15m',
        400,
        `argument 'from' is not a time: "15m" (epoch ms below 1e14, -<n><ms|s|m|h|d> or now)`,
      ],
      ['sensor=ramp&from=0&points=0', 400, `argument 'points' must be an integer from 1 to 100000 (got "0")`],
      ['sensor=ramp&from=0&limit=1e3', 400, `argument 'limit' must be an integer from 1 to 100000 (got "1e3")`],
      ['sensor=ramp&from=0&format=xml', 400, `argument 'format' must be one of json, csv (got "xml")`],
      ['sensor=ramp&from=now&to=0', 400, `from is after to (${NOW} > 0)`],
      [
        'sensor=ramp&from=0&points=2&limit=2',
        400,
        "arguments 'points' and 'limit' do not go together (limit cuts readings)",
      ],
      ['sensor=ramp&from=0&from=1', 400, "argument 'from' given twice"],
      ['sensor=ramp&from=0&step=1', 400, "unknown argument 'step' (known: sensor, from, to, points, limit, format)"],
      ['sensor=nope&from=0', 404, 'no sensor named nope'],
    ];
    for (const [query, status, message] of cases) {
      const answer = await fixture.request(`${base}/api/range?${query}`);
      expect([query, answer.status, answer.json<ErrorBody>().error.message]).toEqual([query, status, message]);
    }
  });
});

describe('POST /api/write (docs/HTTP.md)', () => {
  it('stores native lines, StatsD gauges and bare numbers as UDP does', async () => {
    const { base, server } = await fixture.start();
    const answer = await fixture.request(`${base}/api/write`, {
      method: 'POST',
      body: 'ramp 0.5 1764316800.125 1\nsaw:-2|g\n0.35\n',
    });
    expect(answer.status).toBe(200);
    expect(answer.json()).toEqual({ accepted: 3, duplicates: 0 });
    expect(server.store.get('ramp')?.latest()).toMatchObject({ value: 0.5, timestampMs: 1764316800125 });
    expect(server.store.get('saw')?.lastValue).toBe(-2);
    expect(server.store.get('default')?.lastValue).toBe(0.35);
  });

  it('answers 400 naming each rejected line and its reason, and still stores the good ones', async () => {
    const { base, server } = await fixture.start();
    const answer = await fixture.request(`${base}/api/write`, {
      method: 'POST',
      body: 'ramp 1\nramp nan\nhits:1|c\nramp 2\n',
    });
    expect(answer.status).toBe(400);
    expect(answer.json()).toEqual({
      error: {
        code: 'rejected',
        message: '2 lines rejected: bad-number "ramp nan" (the first shown; see lines); 2 stored',
      },
      accepted: 2,
      rejected: 2,
      duplicates: 0,
      lines: [
        { reason: 'bad-number', line: 'ramp nan' },
        { reason: 'unsupported-type', line: 'hits:1|c' },
      ],
    });
    expect(server.store.get('ramp')?.count).toBe(2);
    expect(server.stats().rejected_bad_number).toBe(1);
  });

  it('takes a repeated sender-seq as already stored, so a retried write succeeds', async () => {
    const { base, server } = await fixture.start();
    const body = 'ramp 1 -1 7\n';
    expect((await fixture.request(`${base}/api/write`, { method: 'POST', body })).json()).toEqual({
      accepted: 1,
      duplicates: 0,
    });
    const again = await fixture.request(`${base}/api/write`, { method: 'POST', body });
    expect([again.status, again.json()]).toEqual([200, { accepted: 0, duplicates: 1 }]);
    expect(server.store.get('ramp')?.count).toBe(1);
  });

  it('answers 413 for a body over maxBodyBytes, declared or streamed, and stores none of it', async () => {
    const { base, server } = await fixture.start({ web: { maxBodyBytes: 64 } });
    const big = 'ramp 1\n'.repeat(20);
    const declared = await fixture.request(`${base}/api/write`, { method: 'POST', body: big });
    expect(declared.status).toBe(413);
    expect(declared.json<ErrorBody>().error).toEqual({
      code: 'payload-too-large',
      message: 'the body is over 64 bytes; send the lines in several writes',
    });
    const streamed = await fixture.request(`${base}/api/write`, {
      method: 'POST',
      headers: { 'Transfer-Encoding': 'chunked' },
      body: big,
    });
    expect(streamed.status).toBe(413);
    expect(server.store.size).toBe(0);
  });

  it('refuses a write from a page of another origin, and GET', async () => {
    const { base, web } = await fixture.start();
    const cross = await fixture.request(`${base}/api/write`, {
      method: 'POST',
      headers: { Origin: 'http://evil.example', 'Content-Type': 'text/plain' },
      body: 'ramp 1',
    });
    expect([cross.status, cross.json<ErrorBody>().error.code]).toEqual([403, 'forbidden-origin']);
    const same = await fixture.request(`${base}/api/write`, {
      method: 'POST',
      headers: { Origin: `http://127.0.0.1:${web.port}` },
      body: 'ramp 1',
    });
    expect(same.status).toBe(200);
    const get = await fixture.request(`${base}/api/write`);
    expect([get.status, get.headers.allow]).toEqual([405, 'POST']);
  });

  it('answers 415 for a compressed body', async () => {
    const { base } = await fixture.start();
    const answer = await fixture.request(`${base}/api/write`, {
      method: 'POST',
      headers: { 'Content-Encoding': 'gzip' },
      body: 'x',
    });
    expect([answer.status, answer.json<ErrorBody>().error.code]).toEqual([415, 'unsupported-media-type']);
  });
});

describe('GET /healthz and errors (docs/HTTP.md)', () => {
  it('is ok while the server listens and 503 once it is closed', async () => {
    const { base, server } = await fixture.start();
    const ok = await fixture.request(`${base}/healthz`);
    expect([ok.status, ok.json()]).toEqual([
      200,
      { status: 'ok', uptimeMs: expect.any(Number) as number, sensors: 0, durable: false },
    ]);
    await server.close();
    const closed = await fixture.request(`${base}/healthz`);
    expect([closed.status, closed.json<{ status: string }>().status]).toEqual([503, 'closed']);
    const api = await fixture.request(`${base}/api/sensors`);
    expect([api.status, api.json<ErrorBody>().error.code]).toEqual([503, 'shutting-down']);
  });

  it('answers an unexpected failure 500 with no detail, and logs it with its stack', async () => {
    const error = vi.fn();
    const logger = { debug() {}, info() {}, warn() {}, error };
    const { base, server, udpPort } = await fixture.start({ web: { logger } });
    await fixture.udp(udpPort, 'ramp 1');
    await expect.poll(() => server.store.size).toBe(1);
    server.history.range = () => {
      throw new Error('disk on fire');
    };
    const answer = await fixture.request(`${base}/api/range?sensor=ramp&from=0`);
    expect(answer.status).toBe(500);
    expect(answer.json()).toEqual({ error: { code: 'internal', message: 'internal error (logged by the server)' } });
    expect(answer.text).not.toContain('disk on fire');
    expect(error).toHaveBeenCalledWith(
      { err: expect.objectContaining({ message: 'disk on fire' }) as Error },
      'HTTP request failed',
    );
  });

  it('answers a path outside the API 404 when no page is served', async () => {
    const { base } = await fixture.start();
    const root = await fixture.request(`${base}/`);
    expect(root.status).toBe(404);
    expect(root.json<ErrorBody>().error.message).toBe(
      'no page is served here (none was built); the API is under /api/',
    );
  });
});

describe('the log before output (docs/DURABILITY.md)', () => {
  it("calls the server's commit before it answers, so a reading stored earlier in the same turn is in the log first", async () => {
    const { base, server } = await fixture.start({ server: { storage: { dir: fixture.tempDir() } } });
    const order: string[] = [];
    const commit = server.commit.bind(server);
    vi.spyOn(server, 'commit').mockImplementation(() => {
      order.push('commit');
      commit();
    });
    const sensor = server.store.ingest('ramp', 0.5, NOW, -1);
    server.hub.publish(sensor!);
    const answer = await fixture.request(`${base}/api/sensors/ramp`);
    expect(answer.status).toBe(200);
    expect(order).toContain('commit');
    expect(server.stats().storage_readings).toBe(1);
  });
});

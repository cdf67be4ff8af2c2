import { afterEach, describe, expect, it } from 'vitest';
import { Fixture } from './testing/fixture.js';

const fixture = new Fixture();
afterEach(() => fixture.cleanup());

const NOW = 1_764_316_800_000;

describe('opc-server over loopback: RANGE and AFTER (PROTOCOL.md "History: RANGE", "Resume: AFTER")', () => {
  it('answers RANGE with readings sent over UDP, cut with MORE, resolving relative times with its now', async () => {
    const { server, address } = await fixture.start({ maxRangeReply: 2, now: () => NOW });
    const udp = fixture.udpSender(address.udpPort);
    // Sender timestamps in seconds: 10 s, 5 s, 2 s and 1 s before the server's now.
    await udp.send(
      ['ramp 0.1 1764316790', 'ramp 0.2 1764316795', 'ramp 0.3 1764316798', 'ramp 0.4 1764316799'].join('\n'),
    );
    await expect.poll(() => server.store.get('ramp')?.count).toBe(4);
    const client = await fixture.connect(address.tcpPort);
    client.send('RANGE ramp -6s now\n');
    expect(await client.until('END')).toEqual([
      'VAL ramp 0.2 1764316795000 2',
      'VAL ramp 0.3 1764316798000 3',
      'MORE 1764316799000',
      'END',
    ]);
    client.send('RANGE ramp 1764316799000 now\nRANGE ramp -1m now 2\n');
    expect(await client.until('END')).toEqual(['VAL ramp 0.4 1764316799000 4', 'END']);
    // Two buckets of 30 s over the last minute: all four readings fall in the second.
    expect(await client.until('END')).toEqual(['BUCKET ramp 1764316770000 4 0.1 0.4 0.25 0.1 0.4', 'END']);
  });

  it('resumes a subscription on a new connection from the seq the last one saw', async () => {
    const { server, address } = await fixture.start();
    const udp = fixture.udpSender(address.udpPort);
    const first = await fixture.connect(address.tcpPort);
    first.send('SUB ramp\n');
    expect(await first.next()).toBe('OK SUB ramp');
    await udp.send('ramp 1\nramp 2');
    expect(await first.take(2)).toEqual([
      expect.stringMatching(/^PUB ramp 1 \d+ 1$/),
      expect.stringMatching(/^PUB ramp 2 \d+ 2$/),
    ]);
    first.stream.destroy();
    await first.closed;
    // Sent while no one listens.
    await udp.send('ramp 3\nramp 4');
    await expect.poll(() => server.store.get('ramp')?.count).toBe(4);
    const second = await fixture.connect(address.tcpPort);
    second.send('AFTER ramp 2\nSUB ramp\n');
    expect(await second.take(4)).toEqual([
      'OK AFTER ramp 2',
      'OK SUB ramp',
      expect.stringMatching(/^PUB ramp 3 \d+ 3$/),
      expect.stringMatching(/^PUB ramp 4 \d+ 4$/),
    ]);
    await udp.send('ramp 5');
    expect(await second.next()).toMatch(/^PUB ramp 5 \d+ 5$/);
  });
});

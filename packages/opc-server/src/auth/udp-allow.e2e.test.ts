import { afterEach, describe, expect, it } from 'vitest';
import { Fixture } from '../testing/fixture.js';

const fixture = new Fixture();
afterEach(() => fixture.cleanup());

describe('udpAllow over a real UDP socket (docs/SECURITY.md, "UDP ingest")', () => {
  it('drops and counts datagrams from outside the list, and stores those from inside', async () => {
    const refusing = await fixture.start({ udpAllow: ['10.0.0.0/8'] });
    const taking = await fixture.start({ udpAllow: ['10.0.0.0/8', '127.0.0.1'] });
    await fixture.udpSender(refusing.address.port).send('ramp 1\n');
    await fixture.udpSender(taking.address.port).send('ramp 1\n');
    await expect.poll(() => taking.server.store.size).toBe(1);
    await expect.poll(() => refusing.server.stats().datagrams_received).toBe(1);
    expect(refusing.server.store.size).toBe(0);
    expect(refusing.server.stats()).toMatchObject({ udp_allow_rules: 1, udp_refused_not_allowed: 1 });
    expect(taking.server.stats()).toMatchObject({ udp_allow_rules: 2, udp_refused_not_allowed: 0 });
  });

  it('refuses a bad rule when the server is created', async () => {
    await expect(fixture.start({ udpAllow: ['10.0.0.0/40'] })).rejects.toThrow(/udpAllow: "10.0.0.0\/40" is not/);
  });
});

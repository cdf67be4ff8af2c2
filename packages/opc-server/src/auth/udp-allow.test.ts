import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { UdpAllowList } from './udp-allow.js';

describe('UdpAllowList (docs/SECURITY.md, "UDP ingest")', () => {
  it('takes the addresses of its blocks and single addresses, IPv4 arriving as IPv6 included, and counts the rest', () => {
    const allow = new UdpAllowList(['10.20.0.0/16', '127.0.0.1', 'fd00::/8']);
    for (const a of ['10.20.0.1', '10.20.255.255', '127.0.0.1', '::ffff:10.20.1.1', 'fd12::3']) {
      expect(allow.check(a)).toBe(true);
    }
    for (const a of ['10.21.0.1', '127.0.0.2', '::1', 'fe80::1', '::ffff:192.168.0.1'])
      expect(allow.check(a)).toBe(false);
    expect(allow.stats()).toEqual({ udp_allow_rules: 3, udp_refused_not_allowed: 5 });
  });

  it('agrees with a prefix comparison for any IPv4 block and address', () => {
    const ip = fc.tuple(fc.nat(255), fc.nat(255), fc.nat(255), fc.nat(255));
    const toInt = ([a, b, c, d]: [number, number, number, number]) => ((a << 24) | (b << 16) | (c << 8) | d) >>> 0;
    fc.assert(
      fc.property(ip, fc.integer({ min: 0, max: 32 }), ip, (net, prefix, addr) => {
        const allow = new UdpAllowList([`${net.join('.')}/${prefix}`]);
        const mask = prefix === 0 ? 0 : (~0 << (32 - prefix)) >>> 0;
        expect(allow.check(addr.join('.'))).toBe((toInt(net) & mask) >>> 0 === (toInt(addr) & mask) >>> 0);
      }),
      { numRuns: 300 },
    );
  });

  it('refuses a rule that is not an address or a block, naming it', () => {
    for (const rule of ['10.0.0.0/33', 'example.com', '10.0.0/8', 'fd00::/129', '10.0.0.0/']) {
      expect(() => new UdpAllowList([rule])).toThrow(
        `udpAllow: ${JSON.stringify(rule)} is not an address or a CIDR block`,
      );
    }
    expect(() => new UdpAllowList([])).toThrow(RangeError);
  });
});

import { describe, expect, it } from 'vitest';
import { isLoopback } from '../server.js';

describe('isLoopback (the exposed_without_auth STATS key, docs/SECURITY.md "Counters")', () => {
  it('tells loopback addresses from network ones', () => {
    for (const host of ['127.0.0.1', '127.9.9.9', '::1', 'localhost', '::FFFF:127.0.0.1'])
      expect(isLoopback(host)).toBe(true);
    for (const host of ['0.0.0.0', '::', '10.0.0.1', '128.0.0.1', 'fe80::1']) expect(isLoopback(host)).toBe(false);
  });
});

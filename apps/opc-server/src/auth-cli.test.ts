import { describe, expect, it } from 'vitest';
import { exposureWarning, isLoopbackHost } from './auth-cli.js';

describe('exposureWarning (docs/SECURITY.md, "Defaults")', () => {
  it('warns about a network address without an auth file, and only then', () => {
    expect(exposureWarning('0.0.0.0', undefined)).toMatch(/^listening on 0\.0\.0\.0 without --auth-file: anyone/);
    expect(exposureWarning('192.168.1.5', undefined)).toContain('docs/DEPLOY.md');
    expect(exposureWarning('0.0.0.0', '/etc/opc-lite/auth')).toBeUndefined();
    for (const host of ['127.0.0.1', '127.1.2.3', '::1', 'localhost', '::ffff:127.0.0.1']) {
      expect(isLoopbackHost(host)).toBe(true);
      expect(exposureWarning(host, undefined)).toBeUndefined();
    }
    expect(isLoopbackHost('::')).toBe(false);
    expect(isLoopbackHost('10.0.0.1')).toBe(false);
  });
});

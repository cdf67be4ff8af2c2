import { describe, expect, it } from 'vitest';
import { helpText, parseCli, UsageError } from './options.js';

describe('parseCli: tokens (docs/SECURITY.md)', () => {
  it('takes --auth-file, or OPC_AUTH_FILE, as a path from the working directory', () => {
    expect(parseCli(['--auth-file', 'auth'], {}, '/srv')).toMatchObject({ kind: 'run', authFile: '/srv/auth' });
    expect(parseCli([], { OPC_AUTH_FILE: '/etc/opc/auth' }, '/srv')).toMatchObject({ authFile: '/etc/opc/auth' });
    expect(parseCli(['--auth-file', 'a'], { OPC_AUTH_FILE: '/b' }, '/srv')).toMatchObject({ authFile: '/srv/a' });
    expect(parseCli([], {}, '/srv')).not.toHaveProperty('authFile');
  });

  it('reads hash-token as a command, with --generate', () => {
    expect(parseCli(['hash-token'], {})).toEqual({ kind: 'hash-token', generate: false });
    expect(parseCli(['hash-token', '--generate'], {})).toEqual({ kind: 'hash-token', generate: true });
  });

  it('refuses a token given as an argument, and --generate without hash-token', () => {
    expect(() => parseCli(['hash-token', 's3cret'], {})).toThrow(/reads the token from stdin/);
    expect(() => parseCli(['--generate'], {})).toThrow(UsageError);
  });

  it('documents both in --help', () => {
    const help = helpText('1.0.0', {});
    expect(help).toContain('--auth-file <path>');
    expect(help).toContain('opc-server hash-token [--generate]');
  });
});

describe('parseCli: --udp-allow (docs/SECURITY.md, "UDP ingest")', () => {
  it('is repeatable, or one OPC_UDP_ALLOW with commas, the flags winning', () => {
    expect(parseCli(['--udp-allow', '10.0.0.0/8', '--udp-allow', '::1'], {})).toMatchObject({
      server: { udpAllow: ['10.0.0.0/8', '::1'] },
    });
    expect(parseCli([], { OPC_UDP_ALLOW: '10.0.0.0/8, 192.168.1.7' })).toMatchObject({
      server: { udpAllow: ['10.0.0.0/8', '192.168.1.7'] },
    });
    expect(parseCli(['--udp-allow', '1.2.3.4'], { OPC_UDP_ALLOW: '10.0.0.0/8' })).toMatchObject({
      server: { udpAllow: ['1.2.3.4'] },
    });
    expect((parseCli([], {}) as { server: object }).server).not.toHaveProperty('udpAllow');
    expect(helpText('1.0.0', {})).toContain('--udp-allow <cidr>');
  });
});

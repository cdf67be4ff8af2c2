import { describe, expect, it } from 'vitest';
import { helpText, nodeNameOf, parseCli, UsageError } from './options.js';

const run = (argv: string[], env: Record<string, string> = {}, hostname = 'plant-a.example.com') => {
  const command = parseCli(argv, env, '/srv/lab', hostname);
  if (command.kind !== 'run') throw new Error(`expected run, got ${command.kind}`);
  return command;
};

const usage = (argv: string[], env: Record<string, string> = {}): string => {
  try {
    parseCli(argv, env, '/srv/lab', 'host');
  } catch (err) {
    expect(err).toBeInstanceOf(UsageError);
    return (err as Error).message;
  }
  throw new Error('expected a UsageError');
};

describe('parseCli: cluster flags (docs/CLUSTER.md, "Set-up")', () => {
  it('is no cluster without --nats', () => {
    expect(run([]).cluster).toBeUndefined();
  });

  it('takes the NATS URLs, the host name as node name, stream OPC and 3 replicas by default', () => {
    expect(run(['--nats', 'nats://10.0.0.5:4222, nats://10.0.0.6:4222']).cluster).toEqual({
      servers: ['nats://10.0.0.5:4222', 'nats://10.0.0.6:4222'],
      nodeName: 'plant-a-example-com',
      stream: 'OPC',
      replicas: 3,
    });
  });

  it('reads every setting from flags or the environment, flags first', () => {
    const env = { OPC_NATS: '10.0.0.7:4222', OPC_NODE_NAME: 'env-node', OPC_NATS_STREAM: 'E', OPC_NATS_REPLICAS: '1' };
    expect(run([], env).cluster).toEqual({
      servers: ['10.0.0.7:4222'],
      nodeName: 'env-node',
      stream: 'E',
      replicas: 1,
    });
    expect(run(['--node-name', 'b', '--nats-stream', 'F', '--nats-replicas', '5'], env).cluster).toEqual({
      servers: ['10.0.0.7:4222'],
      nodeName: 'b',
      stream: 'F',
      replicas: 5,
    });
  });

  it('refuses a cluster setting without --nats, a bad URL, node name, stream or replica count', () => {
    expect(usage(['--node-name', 'a'])).toBe('--node-name is a cluster setting; it does nothing without --nats');
    expect(usage(['--nats', 'http://x:80'])).toMatch(/^--nats must be NATS URLs separated by commas.*'http:\/\/x:80'/);
    expect(usage(['--nats', 'nats://a:4222,'])).toMatch(/got ''\)$/);
    expect(usage(['--nats', 'a:4222', '--node-name', 'a.b'])).toMatch(/^--node-name must be 1 to 64 of/);
    expect(usage(['--nats', 'a:4222', '--nats-stream', 'x.y'])).toMatch(/^--nats-stream must be/);
    expect(usage(['--nats', 'a:4222', '--nats-replicas', '6'])).toMatch(/^--nats-replicas/);
    expect(usage(['--nats-backlog-bytes', '1GiB'])).toMatch(/^--nats-backlog-bytes is a cluster setting/);
    expect(usage(['--nats', 'a:4222', '--nats-backlog-bytes', '1000'])).toMatch(
      /^--nats-backlog-bytes must be between 1048576 and/,
    );
  });

  it('takes a bound for the backlog on disk, with a unit, from the flag or the environment', () => {
    expect(run(['--nats', 'a:4222', '--nats-backlog-bytes', '256MiB']).cluster?.backlogBytes).toBe(256 * 1024 * 1024);
    expect(run(['--nats', 'a:4222'], { OPC_NATS_BACKLOG_BYTES: '2GiB' }).cluster?.backlogBytes).toBe(2 * 1024 ** 3);
    expect(run(['--nats', 'a:4222']).cluster).not.toHaveProperty('backlogBytes');
  });

  it('makes a node name of any host name', () => {
    expect(nodeNameOf('vm')).toBe('vm');
    expect(nodeNameOf('x'.repeat(80))).toHaveLength(64);
    expect(nodeNameOf('')).toBe('opc-server');
  });

  it('lists the cluster flags in the help', () => {
    const help = helpText('1.0.0', {});
    for (const flag of [
      '--nats <urls>',
      '--node-name <name>',
      '--nats-stream <name>',
      '--nats-replicas <n>',
      '--nats-backlog-bytes <n>',
    ]) {
      expect(help).toContain(flag);
    }
  });
});

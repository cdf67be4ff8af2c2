import { describe, expect, it, vi } from 'vitest';
import { REJECT_REASONS } from '@opc-lite/protocol';
import { DEFAULTS, OpcServerError, type OpcServerOptions } from './options.js';
import { createOpcServer } from './server.js';
import { duplexPair } from './testing/duplex-pair.js';
import { LineClient } from './testing/line-client.js';

const STATS_KEYS = [
  'uptime_ms',
  'datagrams_received',
  'bytes_received',
  'readings_accepted',
  'readings_rejected',
  ...REJECT_REASONS.map((r) => `rejected_${r.replaceAll('-', '_')}`),
  'sensors',
  'sensors_max',
  'clients',
  'clients_total',
  'clients_rejected',
  'commands',
  'command_errors',
  'polls',
  'pushes_sent',
  'pushes_dropped',
  'slow_consumer_disconnects',
  'outbound_evictions',
  'outbound_bytes',
  'idle_disconnects',
  'subscriptions',
  'seq_lost',
  'seq_duplicate',
  'seq_late',
  'seq_restarts',
  'udp_errors',
  'recv_buffer_bytes',
  'history_capacity',
  'fields_ignored',
  'ingest_udp_accepted',
  'ingest_udp_rejected',
  'ingest_udp_ignored',
  'ingest_tcp_accepted',
  'ingest_tcp_rejected',
  'ingest_tcp_ignored',
  'ingest_http_accepted',
  'ingest_http_rejected',
  'ingest_http_ignored',
  'ingest_mqtt_accepted',
  'ingest_mqtt_rejected',
  'ingest_mqtt_ignored',
  'storage_durable',
  'storage_degraded',
  'storage_disk_bytes',
  'storage_wal_bytes',
  'storage_wal_segments',
  'storage_chunk_files',
  'storage_readings',
  'storage_last_fsync_age_ms',
  'storage_fsync_failures',
  'storage_write_failures',
  'storage_checkpoints',
  'storage_readings_recovered',
  'storage_bytes_dropped_in_recovery',
  'storage_recovery_ms',
  'storage_retention_deleted_files',
  'storage_retention_deleted_readings',
  'cluster_state',
  'cluster_stream_lag',
  'cluster_forwarded',
  'cluster_applied',
  'cluster_publish_errors',
  'cluster_backlog',
  'cluster_backlog_bytes',
  'cluster_dropped',
  'cluster_last_applied_seq',
];

function memoryClient(server: ReturnType<typeof createOpcServer>): LineClient {
  const [serverEnd, clientEnd] = duplexPair();
  server.handle(serverEnd, 'memory');
  return new LineClient(clientEnd);
}

describe('createOpcServer: options', () => {
  it('has frozen defaults with units in the names', () => {
    expect(Object.isFrozen(DEFAULTS)).toBe(true);
    expect(DEFAULTS).toEqual({
      port: 7330,
      host: '127.0.0.1',
      historyCapacity: 1000,
      maxSensors: 10_000,
      maxClients: 1024,
      maxLineBytes: 1024,
      maxSubscriptionsPerClient: 64,
      outboundBudgetBytes: 1_048_576,
      maxOutboundBytes: 268_435_456,
      drainTimeoutMs: 5000,
      idleTimeoutMs: 300_000,
      recvBufferBytes: 8_388_608,
      busyPollUs: 50,
      closeGraceMs: 2000,
      maxHistoryReply: 1000,
      maxRangeReply: 100_000,
    });
  });

  it.each([
    [{ port: -1 }, RangeError, /port/],
    [{ port: 65_536 }, RangeError, /port/],
    [{ port: 1.5 }, RangeError, /port/],
    [{ port: '7330' }, TypeError, /port must be a number/],
    [{ historyCapacity: 0 }, RangeError, /historyCapacity/],
    [{ maxSensors: 0 }, RangeError, /maxSensors/],
    [{ maxClients: Number.NaN }, RangeError, /maxClients/],
    [{ drainTimeoutMs: 0 }, RangeError, /drainTimeoutMs/],
    [{ idleTimeoutMs: -5 }, RangeError, /idleTimeoutMs/],
    [{ outboundBudgetBytes: Infinity }, RangeError, /outboundBudgetBytes/],
    [{ busyPollUs: -1 }, RangeError, /busyPollUs must be an integer from 0 to 1000000/],
    [{ busyPollUs: 1_000_001 }, RangeError, /busyPollUs/],
    [{ maxRangeReply: 0 }, RangeError, /maxRangeReply must be an integer from 1 to 2147483647/],
    [{ maxRangeReply: 1.5 }, RangeError, /maxRangeReply/],
    [{ host: '' }, RangeError, /host/],
    [{ host: 7 }, TypeError, /host/],
    [{ logger: { info() {} } }, TypeError, /logger/],
    [{ signal: {} }, TypeError, /signal/],
    [{ now: 5 }, TypeError, /now/],
    [{ drainTimeout: 5 }, TypeError, /unknown option 'drainTimeout'/],
  ])('rejects %j naming the option', (options, type, message) => {
    expect(() => createOpcServer(options as OpcServerOptions)).toThrow(type);
    expect(() => createOpcServer(options as OpcServerOptions)).toThrow(message);
  });

  it('caps HIST and SUB backlog at the history capacity unless told otherwise', async () => {
    const server = createOpcServer({ historyCapacity: 3, now: () => 5 });
    for (let i = 1; i <= 5; i++) server.store.ingest('a', i, Number.NaN, -1);
    const client = memoryClient(server);
    client.send('HIST a 10\n');
    expect(await client.until('END')).toEqual(['VAL a 3 5 3', 'VAL a 4 5 4', 'VAL a 5 5 5', 'END']);
    await server.close();
  });

  it('ignores options given as undefined', () => {
    expect(() => createOpcServer({ port: undefined } as unknown as OpcServerOptions)).not.toThrow();
  });
});

describe('createOpcServer: without a port', () => {
  it('serves a client over any duplex stream', async () => {
    const server = createOpcServer({ now: () => 1000 });
    const clients: unknown[] = [];
    server.on('client', (info) => clients.push(info));
    const client = memoryClient(server);
    client.send('PING\nn\n');
    expect(await client.take(2)).toEqual(['PONG', 'nan']);
    expect(clients).toEqual([{ id: 1, remote: 'memory' }]);
    expect(server.stats().clients).toBe(1);
    await server.close();
  });

  it('reports every documented STATS key as a number, in order', async () => {
    const server = createOpcServer();
    const stats = server.stats();
    expect(Object.keys(stats)).toEqual(STATS_KEYS);
    for (const value of Object.values(stats)) expect(typeof value).toBe('number');
    expect(stats.sensors_max).toBe(10_000);
    expect(stats.history_capacity).toBe(1000);
    expect(stats.recv_buffer_bytes).toBe(0);
    await server.close();
  });

  it('answers STATS with the same keys as stats()', async () => {
    const server = createOpcServer();
    const client = memoryClient(server);
    client.send('STATS\n');
    const lines = await client.until('END');
    expect(lines.slice(0, -1).map((l) => l.split(' ')[1])).toEqual(STATS_KEYS);
    await server.close();
  });

  it('refuses a client past maxClients with ERR server-busy and closes it', async () => {
    const server = createOpcServer({ maxClients: 1 });
    const first = memoryClient(server);
    const second = memoryClient(server);
    expect(await second.rest()).toEqual(['ERR server-busy at most 1 clients']);
    first.send('PING\n');
    expect(await first.next()).toBe('PONG');
    expect(server.stats().clients_rejected).toBe(1);
    expect(server.stats().clients).toBe(1);
    await server.close();
  });

  it('publishes to subscribers what the store receives', async () => {
    const server = createOpcServer({ now: () => 9 });
    const client = memoryClient(server);
    client.send('SUB s*\n');
    expect(await client.next()).toBe('OK SUB s*');
    const sensor = server.store.ingest('s1', 2, Number.NaN, -1)!;
    server.hub.publish(sensor);
    expect(await client.next()).toBe('PUB s1 2 9 1');
    expect(server.stats().subscriptions).toBe(1);
    await server.close();
  });

  it('emits clientClose with the reason', async () => {
    const server = createOpcServer();
    const closed = vi.fn();
    server.on('clientClose', closed);
    const client = memoryClient(server);
    client.send('QUIT\n');
    expect(await client.rest()).toEqual(['BYE']);
    await vi.waitFor(() => expect(closed).toHaveBeenCalledWith({ id: 1, reason: 'quit' }));
    await server.close();
  });
});

describe('createOpcServer: close', () => {
  it('returns the same promise on every call and emits close once', async () => {
    const server = createOpcServer();
    const onClose = vi.fn();
    server.on('close', onClose);
    const a = server.close();
    const b = server.close();
    expect(a).toBe(b);
    await a;
    expect(onClose).toHaveBeenCalledTimes(1);
    expect(server.address()).toBeUndefined();
  });

  it('ends connected clients with ERR shutting-down', async () => {
    const server = createOpcServer();
    const client = memoryClient(server);
    client.send('SUB *\n');
    expect(await client.next()).toBe('OK SUB *');
    await server.close();
    expect(await client.rest()).toEqual(['ERR shutting-down server closing']);
  });

  it('destroys clients that do not close within closeGraceMs', async () => {
    const server = createOpcServer({ closeGraceMs: 10 });
    const [serverEnd, clientEnd] = duplexPair();
    server.handle(serverEnd, 'stubborn');
    // This peer never ends its side nor reads: only destroying it lets close() finish.
    clientEnd.pause();
    await server.close();
    expect(serverEnd.destroyed).toBe(true);
  });

  it('refuses to listen once closed', async () => {
    const server = createOpcServer({ port: 0 });
    await server.close();
    await expect(server.listen()).rejects.toMatchObject({ code: 'ERR_SERVER_CLOSED' });
    await expect(server.listen()).rejects.toBeInstanceOf(OpcServerError);
  });

  it('refuses new streams while closing', async () => {
    const server = createOpcServer();
    const closing = server.close();
    const [serverEnd] = duplexPair();
    expect(server.handle(serverEnd)).toBeUndefined();
    expect(serverEnd.destroyed).toBe(true);
    await closing;
  });

  it('closes when its AbortSignal aborts', async () => {
    const controller = new AbortController();
    const server = createOpcServer({ signal: controller.signal });
    const closed = new Promise<void>((resolve) => server.once('close', resolve));
    controller.abort();
    await closed;
  });

  it('closes at once when given an aborted signal', async () => {
    const server = createOpcServer({ signal: AbortSignal.abort() });
    await expect(server.listen()).rejects.toMatchObject({ code: 'ERR_SERVER_CLOSED' });
  });

  it('closes on Symbol.asyncDispose', async () => {
    const onClose = vi.fn();
    {
      const server = createOpcServer();
      server.on('close', onClose);
      await server[Symbol.asyncDispose]();
    }
    expect(onClose).toHaveBeenCalledTimes(1);
  });
});

describe('OpcServer.ingest', () => {
  it('stores lines as a datagram, counts them in STATS, and reports the first rejected lines', async () => {
    const server = createOpcServer({ maxSensors: 2 });
    const rejects: unknown[] = [];
    server.on('reject', (info) => rejects.push(info));
    const payload = ['a 1 1764316800 1', 'a 2 1764316801 1', 'temp=21.5', 'b 3', 'c 4', '0.35'].join('\n');
    const result = server.ingest(Buffer.from(payload), { remote: 'http 127.0.0.1:5000' });
    expect(result).toEqual({
      accepted: 2,
      rejected: 4,
      samples: [
        { reason: 'duplicate', line: 'a (sender-seq 1 again)' },
        { reason: 'bad-number', line: 'temp=21.5' },
        { reason: 'too-many-sensors', line: 'c' },
        { reason: 'too-many-sensors', line: 'default' },
      ],
    });
    expect(server.store.get('a')?.seq).toBe(1);
    expect(server.store.get('default')).toBeUndefined(); // the third sensor is past maxSensors too
    expect(rejects).toContainEqual({ reason: 'bad-number', line: 'temp=21.5', remote: 'http 127.0.0.1:5000' });
    const stats = server.stats();
    expect([stats.readings_accepted, stats.rejected_bad_number, stats.seq_duplicate]).toEqual([2, 1, 1]);
    expect(server.history.after(server.store.get('b')!, 0, 10, () => {})).toBe(1);
    await server.close();
  });

  it('refuses what is not bytes', () => {
    const server = createOpcServer();
    expect(() => server.ingest('a 1' as never)).toThrow(TypeError);
  });
});

import { describe, expect, it } from 'vitest';
import { finalSummary, rateSummary } from './summary.js';

describe('rateSummary', () => {
  it('reports per-second rates over the interval and the current gauges', () => {
    const before = { readings_accepted: 100, datagrams_received: 50, pushes_sent: 0, sensors: 1, clients: 1 };
    const after = { readings_accepted: 2100, datagrams_received: 1050, pushes_sent: 500, sensors: 3, clients: 2 };
    const summary = rateSummary(before, after, 2000);
    expect(summary.readingsPerSec).toBe(1000);
    expect(summary.datagramsPerSec).toBe(500);
    expect(summary.pushesPerSec).toBe(250);
    expect(summary.rejectedPerSec).toBe(0);
    expect(summary.sensors).toBe(3);
    expect(summary.clients).toBe(2);
  });
});

describe('finalSummary', () => {
  it('reports the totals in seconds and counts', () => {
    const summary = finalSummary({ uptime_ms: 12_345, readings_accepted: 7, clients_total: 2, seq_lost: 1 });
    expect(summary).toMatchObject({ uptimeS: 12.3, readingsAccepted: 7, clientsTotal: 2, seqLost: 1, datagrams: 0 });
  });
});

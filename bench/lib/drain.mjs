// Waiting for a server to finish what was sent: its UDP socket queue empty
// and (opc-lite) its readings_accepted counter no longer moving.
import { udpSocket } from './proc.mjs';
import { poll } from './util.mjs';

/**
 * Polls every `intervalMs` (bounded by `timeoutMs`) and resolves
 * `{ ok, at }`: `at` is the wall-clock time (ms) of the first poll that saw
 * the final state, so that waiting to confirm it is not charged to the server.
 */
export async function drained(server, { timeoutMs = 5_000, intervalMs = 10 } = {}) {
  let last = NaN;
  let firstSeenAt = Date.now();
  const ok = await poll(
    async () => {
      const now = Date.now();
      const queued = udpSocket(server.port)?.rxQueueBytes ?? 0;
      if (queued > 0) {
        last = NaN;
        return false;
      }
      if (server.kind !== 'opc-lite') {
        firstSeenAt = now;
        return true;
      }
      const accepted = (await server.stats()).readings_accepted;
      if (accepted === last) return true;
      last = accepted;
      firstSeenAt = now;
      return false;
    },
    { timeoutMs, intervalMs },
  );
  return { ok: Boolean(ok), at: firstSeenAt };
}

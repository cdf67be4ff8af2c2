/**
 * The terminal dashboard mode of `opc-reader`: the reader-client's ready
 * dashboard on a screen of its own, fed by a reconnecting client.
 */
import { createClient } from '@opc-lite/reader-client';
import type { ReaderArgs } from './args.js';

/**
 * Runs the dashboard until q / Ctrl-C or the signal aborts; the terminal is
 * restored before it resolves.
 *
 * @example
 * ```ts
 * await runReaderDashboard(args, controller.signal);
 * ```
 */
export async function runReaderDashboard(args: ReaderArgs, signal: AbortSignal): Promise<void> {
  // Loaded here, not at the top: plain and CSV output never load blessed.
  const { createDashboard } = await import('@opc-lite/reader-client/tui');
  // Connects in the background: the dashboard shows `connecting` until the server answers.
  const client = createClient({ host: args.host, port: args.port, reconnect: true, signal });
  const polling = args.pollIntervalMs !== undefined;
  const dashboard = createDashboard({
    client,
    mode: polling ? 'poll' : 'subscribe',
    ...(polling ? { intervalMs: args.pollIntervalMs, sensors: args.sensors } : { patterns: args.patterns }),
    backlog: args.backlog,
    window: args.window,
    ...(args.yMin === undefined ? {} : { yMin: args.yMin }),
    ...(args.yMax === undefined ? {} : { yMax: args.yMax }),
    title: polling ? 'opc-reader (poll)' : 'opc-reader (live)',
  });
  const onAbort = (): void => dashboard.destroy();
  signal.addEventListener('abort', onAbort, { once: true });
  try {
    await dashboard.done;
  } finally {
    signal.removeEventListener('abort', onAbort);
    dashboard.destroy();
    await client.close();
  }
}

/**
 * The terminal dashboard mode of `opc-reader`: the reader-client's ready
 * dashboard on a screen of its own, fed by a reconnecting client.
 */
import { createClient } from '@opc-lite/reader-client';
import { connectTimeoutMs, tokenOf, type ReaderArgs } from './args.js';
import { ConnectDeadline, type ConnectTimeoutError } from './connect-deadline.js';

/**
 * Runs the dashboard until q / Ctrl-C or the signal aborts; the terminal is
 * restored before it resolves. With `--connect-timeout`, a server whose
 * connection is not up in time closes the dashboard and rejects with a
 * {@link ConnectTimeoutError} (the dashboard itself shows whether data comes).
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
  const client = createClient({ host: args.host, port: args.port, reconnect: true, signal, ...tokenOf(args) });
  const polling = args.pollIntervalMs !== undefined;
  const dashboard = createDashboard({
    client,
    mode: polling ? 'poll' : 'subscribe',
    ...(polling ? { intervalMs: args.pollIntervalMs, sensors: args.sensors } : { patterns: args.patterns }),
    // The chart starts full: the server's history (kept across its restarts) fills the window.
    backlog: args.backlog ?? args.window,
    window: args.window,
    ...(args.yMin === undefined ? {} : { yMin: args.yMin }),
    ...(args.yMax === undefined ? {} : { yMax: args.yMax }),
    title: polling ? 'opc-reader (poll)' : 'opc-reader (live)',
  });
  const onAbort = (): void => dashboard.destroy();
  signal.addEventListener('abort', onAbort, { once: true });
  let timedOut: ConnectTimeoutError | undefined;
  const deadline = new ConnectDeadline({
    server: `${args.host}:${args.port}`,
    timeoutMs: connectTimeoutMs(args.connectTimeoutMs, true),
    onExpire: (error) => {
      timedOut = error;
      dashboard.destroy();
    },
  });
  client.on('connect', () => deadline.answered());
  try {
    await dashboard.done;
    if (timedOut !== undefined) throw timedOut;
  } finally {
    deadline.cancel();
    signal.removeEventListener('abort', onAbort);
    dashboard.destroy();
    await client.close();
  }
}

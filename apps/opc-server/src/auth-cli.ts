/**
 * The CLI's side of tokens (docs/SECURITY.md): `opc-server hash-token`, loading the auth file at start, and
 * reloading it on SIGHUP.
 */
import {
  AuthFileError,
  Authenticator,
  generateToken,
  hashToken,
  loadAuthFile,
  type Logger,
} from '@opc-lite/opc-server';

/** What `AUTH` takes (docs/PROTOCOL.md, "TCP commands and replies"): 1 to 256 printable ASCII characters, no blank. */
const MAX_TOKEN_BYTES = 256;
const isValidToken = (token: string): boolean => /^[\x21-\x7e]+$/.test(token) && token.length <= MAX_TOKEN_BYTES;

/** What `hash-token` reads from and writes to. */
export interface HashTokenIo {
  readonly stdin: NodeJS.ReadableStream & { isTTY?: boolean };
  readonly stdout: { write(text: string): unknown };
  readonly stderr: { write(text: string): unknown };
}

async function readAll(stream: NodeJS.ReadableStream): Promise<string> {
  let text = '';
  for await (const chunk of stream) {
    text += typeof chunk === 'string' ? chunk : chunk.toString('utf8');
    if (text.length > 64 * 1024) break; // a token is short: what follows is not one
  }
  return text;
}

/**
 * `opc-server hash-token [--generate]`: prints the auth file hash of the token on stdin (the token is never an
 * argument, so it stays out of the shell history and the process list), or makes a new token and prints both.
 * Returns the exit code.
 */
export async function hashTokenCommand(generate: boolean, io: HashTokenIo): Promise<number> {
  if (generate) {
    const token = generateToken();
    const hash = await hashToken(token);
    io.stdout.write(
      `# the token: give it to the client; it is kept nowhere else\n${token}\n` +
        `# the auth file line: choose the name and the rights (docs/SECURITY.md, "The auth file")\n` +
        `token NAME ${hash} read=*\n`,
    );
    return 0;
  }
  if (io.stdin.isTTY === true) io.stderr.write('token (then Enter and Ctrl-D): ');
  const text = (await readAll(io.stdin)).replace(/\r?\n$/, '');
  if (!isValidToken(text)) {
    io.stderr.write(
      `opc-server: a token is 1 to ${MAX_TOKEN_BYTES} printable ASCII characters without blanks, on one line ` +
        `(got ${text.length} characters); or use --generate\n`,
    );
    return 2;
  }
  io.stdout.write(`${await hashToken(text)}\n`);
  return 0;
}

/** Loads the auth file at start; a mistake in it is a usage error, reported by `fail`. */
export function loadAuth(path: string, log: Logger, fail: (message: string, code: number) => never): Authenticator {
  const warnings: string[] = [];
  try {
    const config = loadAuthFile(path, warnings);
    for (const w of warnings) log.warn(w);
    log.info(
      { authFile: path, tokens: config.tokens.length, anonymous: config.anonymous.toString() },
      'clients need a token: AUTH <token> on TCP, Authorization: Bearer on HTTP',
    );
    return new Authenticator(config, { logger: log });
  } catch (err) {
    if (err instanceof AuthFileError) return fail(err.message, 2);
    throw err;
  }
}

/** SIGHUP: reads the auth file again; one with a mistake leaves the one in force (and says so). */
export function reloadAuth(auth: Authenticator, path: string, log: Logger): void {
  const warnings: string[] = [];
  try {
    const config = loadAuthFile(path, warnings);
    for (const w of warnings) log.warn(w);
    auth.reload(config); // logs what it did to the open connections
  } catch (err) {
    if (!(err instanceof AuthFileError)) throw err;
    log.error({ authFile: path }, `auth file not reloaded, the previous one stays in force: ${err.message}`);
  }
}

/** Whether an address is reachable from this machine only (127.0.0.0/8, ::1). */
export const isLoopbackHost = (host: string): boolean =>
  host === '::1' || host === 'localhost' || /^127\./.test(host) || /^::ffff:127\./i.test(host);

/**
 * The warning at start for a server on a network address without tokens (docs/SECURITY.md, "Defaults"), or
 * undefined when there is nothing to warn about.
 */
export function exposureWarning(host: string, authFile: string | undefined): string | undefined {
  if (authFile !== undefined || isLoopbackHost(host)) return undefined;
  return (
    `listening on ${host} without --auth-file: anyone who can reach this address may read every sensor, ` +
    'subscribe to everything and send readings; see docs/SECURITY.md and docs/DEPLOY.md'
  );
}

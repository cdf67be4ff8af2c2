/**
 * A blessed screen on in-memory streams, for rendering tests: nothing reaches
 * the real terminal, and the screen's cells can be read back as text.
 */
import { PassThrough } from 'node:stream';
import blessed from 'blessed';
import type { Widgets } from 'blessed';

type FakeTty = PassThrough & { columns: number; rows: number; isTTY: boolean };

export interface FakeScreen {
  screen: Widgets.Screen;
  input: PassThrough;
  output: FakeTty;
  /** The screen's cells as lines of text (what a terminal would show). */
  text(): string;
  /** Changes the terminal size and emits 'resize', as a terminal window does. */
  resize(columns: number, rows: number): void;
  /** Sends keys as typed. */
  type(keys: string): void;
}

export function fakeStreams(columns: number, rows: number): { input: PassThrough; output: FakeTty } {
  const output = Object.assign(new PassThrough(), { columns, rows, isTTY: true });
  output.resume(); // discard the escape sequences
  return { input: new PassThrough(), output };
}

export function screenText(screen: Widgets.Screen): string {
  const lines = (screen as unknown as { lines: [unknown, string][][] }).lines;
  return lines.map((row) => row.map((cell) => cell[1]).join('')).join('\n');
}

export function fakeScreen(columns = 100, rows = 30): FakeScreen {
  const { input, output } = fakeStreams(columns, rows);
  const screen = blessed.screen({ input, output, terminal: 'xterm-256color', warnings: false });
  return {
    screen,
    input,
    output,
    text: () => screenText(screen),
    resize: (c, r) => {
      output.columns = c;
      output.rows = r;
      output.emit('resize');
    },
    type: (keys) => {
      input.write(keys);
    },
  };
}

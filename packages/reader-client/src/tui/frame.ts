/**
 * A bounded frame rate for a terminal UI: data marks the frame dirty, a timer
 * draws it at most once per `intervalMs`, and nothing runs while nothing
 * changes (STYLE: update buffers on data, render on a bounded timer when
 * dirty). However many readings arrive, the draws are bounded by elapsed
 * time / `intervalMs` + 1.
 */
export class FrameScheduler {
  readonly intervalMs: number;
  readonly #draw: () => void;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #dirty = false;
  #stopped = false;
  #frames = 0;

  constructor(draw: () => void, intervalMs: number) {
    this.#draw = draw;
    this.intervalMs = intervalMs;
  }

  /** Frames drawn so far. */
  get frames(): number {
    return this.#frames;
  }

  get dirty(): boolean {
    return this.#dirty;
  }

  /** Something changed: draw within `intervalMs`. Cheap enough to call per reading. */
  invalidate(): void {
    this.#dirty = true;
    if (this.#timer !== undefined || this.#stopped) return;
    this.#timer = setTimeout(this.#frame, this.intervalMs);
    this.#timer.unref?.();
  }

  /** Draws now if anything changed. */
  flush(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    if (this.#dirty && !this.#stopped) this.#run();
  }

  /** Forgets pending changes (the owner just drew them itself). */
  cancel(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#dirty = false;
  }

  /** No more frames. */
  stop(): void {
    this.#stopped = true;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  readonly #frame = (): void => {
    this.#timer = undefined;
    if (this.#dirty && !this.#stopped) this.#run();
  };

  #run(): void {
    this.#dirty = false;
    this.#frames += 1;
    this.#draw();
  }
}

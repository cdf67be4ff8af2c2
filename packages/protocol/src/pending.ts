/**
 * Readings gathered before any is delivered: a line-protocol line and an
 * MQTT message are taken whole or refused whole, so their readings wait here
 * until the whole input has been checked. Reused between calls; grows by
 * doubling.
 */
export class PendingReadings {
  values = new Float64Array(16);
  readonly names: string[] = [];

  /** Puts reading `k` (0-based, in order) aside. */
  add(k: number, name: string, value: number): void {
    if (k === this.values.length) {
      const grown = new Float64Array(k * 2);
      grown.set(this.values);
      this.values = grown;
    }
    this.values[k] = value;
    this.names[k] = name;
  }
}

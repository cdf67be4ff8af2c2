import { describe, expect, it } from 'vitest';
import * as api from './index.js';

describe('@opc-lite/ring-buffer entry', () => {
  it('exports the documented names and nothing else', () => {
    expect(Object.keys(api).sort()).toEqual(['Float64RingBuffer', 'MAX_CAPACITY', 'RingBuffer']);
  });
});

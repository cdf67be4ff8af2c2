import { describe, expect, it } from 'vitest';
import * as api from './index.js';

describe('@opc-lite/sawtooth-generator entry', () => {
  it('exports the documented names and nothing else', () => {
    expect(Object.keys(api).sort()).toEqual([
      'SAMPLE_CLOCK_DEFAULTS',
      'WAVEFORM_DEFAULTS',
      'aliasingWarning',
      'createWaveform',
      'sampleClock',
      'sawtooth',
      'systemClock',
    ]);
  });
});

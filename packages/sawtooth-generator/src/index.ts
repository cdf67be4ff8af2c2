export { sawtooth, createWaveform, WAVEFORM_DEFAULTS } from './waveform.js';
export type { WaveformOptions } from './waveform.js';
export { sampleClock, systemClock, SAMPLE_CLOCK_DEFAULTS } from './clock.js';
export type { Clock, SampleClock, SampleClockOptions, Tick } from './clock.js';
export { aliasingWarning } from './aliasing.js';

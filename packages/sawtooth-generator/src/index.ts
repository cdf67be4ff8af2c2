export const placeholder = 'sawtooth-generator';

export { RingBuffer } from './ring-buffer.js';
export { Float64RingBuffer } from './float64-ring-buffer.js';
export { MAX_CAPACITY } from './capacity.js';

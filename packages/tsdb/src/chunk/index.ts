// The chunk codec: Gorilla-style compression of one series' (ts, value) readings. The bit layout is described at
// the top of chunk.ts.
export { CHUNK_FORMAT_VERSION, MAX_DECIMAL_SCALE, ChunkEncoder, ChunkReader, decodeChunk } from './chunk.js';
export { ChunkDecodeError } from './errors.js';

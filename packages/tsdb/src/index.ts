/**
 * @opc-lite/tsdb: an embedded time-series store for opc-lite's sensor
 * readings: a write-ahead log, Gorilla-compressed chunks, checkpoints,
 * retention and range reads, behind a small file-system interface.
 */
export {};

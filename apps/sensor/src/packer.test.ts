import { describe, expect, it } from 'vitest';
import { DatagramPacker } from './packer.js';

describe('DatagramPacker', () => {
  it('writes one line without a trailing newline', () => {
    const packer = new DatagramPacker(64);
    expect(packer.tryAppend('ramp 0.5 1764316800.5 1')).toBe(true);
    expect(packer.toString()).toBe('ramp 0.5 1764316800.5 1');
    expect(packer.lines).toBe(1);
    expect(packer.byteLength).toBe(23);
  });

  it('joins lines with LF', () => {
    const packer = new DatagramPacker(64);
    packer.tryAppend('a 1');
    packer.tryAppend('b 2');
    packer.tryAppend('c 3');
    expect(packer.toString()).toBe('a 1\nb 2\nc 3');
    expect(packer.lines).toBe(3);
  });

  it('refuses a line that does not fit and leaves the content unchanged', () => {
    const packer = new DatagramPacker(8);
    expect(packer.tryAppend('a 1')).toBe(true);
    expect(packer.tryAppend('b 2')).toBe(true); // 'a 1\nb 2' = 7 bytes
    expect(packer.tryAppend('c')).toBe(false); // would need 9
    expect(packer.toString()).toBe('a 1\nb 2');
    expect(packer.lines).toBe(2);
  });

  it('fills exactly to capacity', () => {
    const packer = new DatagramPacker(7);
    expect(packer.tryAppend('a 1')).toBe(true);
    expect(packer.tryAppend('b 2')).toBe(true);
    expect(packer.byteLength).toBe(7);
  });

  it('reuses the same buffer after reset', () => {
    const packer = new DatagramPacker(16);
    const buffer = packer.buffer;
    packer.tryAppend('first 1');
    packer.reset();
    expect(packer.lines).toBe(0);
    expect(packer.byteLength).toBe(0);
    packer.tryAppend('x 2');
    expect(packer.toString()).toBe('x 2');
    expect(packer.buffer).toBe(buffer);
  });

  it('throws a RangeError for a line longer than an empty datagram', () => {
    const packer = new DatagramPacker(4);
    expect(() => packer.tryAppend('too long')).toThrow(RangeError);
  });

  it('validates its capacity', () => {
    expect(() => new DatagramPacker(0)).toThrow(RangeError);
    expect(() => new DatagramPacker(65508)).toThrow(RangeError);
    expect(() => new DatagramPacker(1.5)).toThrow(RangeError);
    expect(() => new DatagramPacker('8' as unknown as number)).toThrow(TypeError);
    expect(new DatagramPacker().capacity).toBe(1400);
  });
});

import { describe, expect, it } from 'vitest';
import { OutboundCap, type CapMember } from './outbound-cap.js';

class Member implements CapMember {
  behind = true;
  closing = false;
  evicted = false;
  constructor(
    readonly name: string,
    public pendingBytes: number,
  ) {}
  evict(): void {
    this.evicted = true;
    this.closing = true;
  }
}

describe('OutboundCap', () => {
  it('leaves clients alone while those behind hold no more than the cap together', () => {
    const cap = new OutboundCap<Member>(1000);
    const a = new Member('a', 400);
    const b = new Member('b', 600);
    cap.fellBehind(a);
    cap.fellBehind(b);
    expect([a.evicted, b.evicted]).toEqual([false, false]);
    expect(cap.watching).toBe(2);
  });

  it('disconnects the clients holding the most, largest first, until the rest fit', () => {
    const cap = new OutboundCap<Member>(1000);
    const small = new Member('small', 100);
    const large = new Member('large', 700);
    const middle = new Member('middle', 400);
    cap.fellBehind(small);
    cap.fellBehind(large);
    expect(large.evicted).toBe(false); // 800 fits
    cap.fellBehind(middle); // 1,200: the largest goes, 500 is left
    expect([small.evicted, middle.evicted, large.evicted]).toEqual([false, false, true]);
    expect(cap.watching).toBe(2);

    small.pendingBytes = 500;
    middle.pendingBytes = 900;
    cap.check(); // 1,400: the middle one is now the largest; 500 is left
    expect([small.evicted, middle.evicted]).toEqual([false, true]);
  });

  it('forgets clients that caught up or closed, and does not count them', () => {
    const cap = new OutboundCap<Member>(1000);
    const caughtUp = new Member('caught-up', 900);
    const closed = new Member('closed', 900);
    const stuck = new Member('stuck', 600);
    cap.fellBehind(caughtUp);
    caughtUp.behind = false;
    cap.fellBehind(closed);
    closed.closing = true;
    cap.fellBehind(stuck); // 600 counted: the others are gone
    expect([caughtUp.evicted, closed.evicted, stuck.evicted]).toEqual([false, false, false]);
    expect(cap.watching).toBe(1);
  });

  it('sees growth at the next check, and forgets a client that closed', () => {
    const cap = new OutboundCap<Member>(1000);
    const a = new Member('a', 600);
    const b = new Member('b', 300);
    cap.fellBehind(a);
    cap.fellBehind(b);
    a.pendingBytes = 800; // pushes appended while behind, handed over by the next write pass
    expect(a.evicted).toBe(false);
    cap.check();
    expect([a.evicted, b.evicted]).toEqual([true, false]);

    cap.forget(b);
    expect(cap.watching).toBe(0);
  });

  it('tracks nothing with a cap of 0', () => {
    const cap = new OutboundCap<Member>(0);
    const huge = new Member('huge', 10 ** 12);
    cap.fellBehind(huge);
    expect(huge.evicted).toBe(false);
    expect(cap.watching).toBe(0);
  });
});

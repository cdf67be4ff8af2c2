import { describe, expect, it, vi } from 'vitest';
import { encodePubFields } from '@opc-lite/protocol';
import type * as Protocol from '@opc-lite/protocol';
import { Hub, type Subscriber } from './hub.js';
import { SensorStore } from './store.js';

// Count PUB encodings: the hub must encode a reading once, whatever the number of subscribers.
vi.mock('@opc-lite/protocol', async (importOriginal) => {
  const actual = await importOriginal<typeof Protocol>();
  return { ...actual, encodePubFields: vi.fn(actual.encodePubFields) };
});

class Recorder implements Subscriber {
  readonly lines: string[] = [];
  accept = true;
  push(line: string): boolean {
    if (!this.accept) return false;
    this.lines.push(line);
    return true;
  }
}

function setup(): { store: SensorStore; hub: Hub<Recorder>; send: (name: string, value: number) => number } {
  const store = new SensorStore({ now: () => 1000 });
  const hub = new Hub<Recorder>(store);
  const send = (name: string, value: number): number => {
    const sensor = store.ingest(name, value, Number.NaN, -1);
    return sensor ? hub.publish(sensor) : 0;
  };
  return { store, hub, send };
}

describe('Hub', () => {
  it('delivers a reading to the subscribers whose pattern matches', () => {
    const { hub, send } = setup();
    const ramps = new Recorder();
    const temps = new Recorder();
    hub.subscribe(ramps, 'ramp*');
    hub.subscribe(temps, 'temp');
    send('ramp1', 0.5);
    send('temp', 21);
    expect(ramps.lines).toEqual(['PUB ramp1 0.5 1000 1\n']);
    expect(temps.lines).toEqual(['PUB temp 21 1000 1\n']);
  });

  it('encodes the PUB line once per reading and hands the same string to every subscriber', () => {
    const { hub, send } = setup();
    const subs = [new Recorder(), new Recorder(), new Recorder()];
    for (const s of subs) hub.subscribe(s, '*');
    const encode = vi.mocked(encodePubFields);
    encode.mockClear();
    send('a', 1);
    send('a', 2);
    expect(encode).toHaveBeenCalledTimes(2);
    for (const s of subs) expect(s.lines).toEqual(['PUB a 1 1000 1\n', 'PUB a 2 1000 2\n']);
  });

  it('delivers each reading once to a subscriber with overlapping patterns', () => {
    const { hub, send } = setup();
    const sub = new Recorder();
    hub.subscribe(sub, '*');
    hub.subscribe(sub, 'ramp*');
    hub.subscribe(sub, 'ramp1');
    send('ramp1', 1);
    expect(sub.lines).toEqual(['PUB ramp1 1 1000 1\n']);
    expect(hub.subscriptionsOf(sub)).toBe(3);
  });

  it('does not encode a reading nobody subscribed to', () => {
    const { send } = setup();
    const encode = vi.mocked(encodePubFields);
    encode.mockClear();
    send('lonely', 1);
    expect(encode).not.toHaveBeenCalled();
  });

  it('covers sensors that appear after SUB *', () => {
    const { hub, send } = setup();
    const sub = new Recorder();
    hub.subscribe(sub, '*');
    send('late1', 1);
    send('late2', 2);
    expect(sub.lines).toEqual(['PUB late1 1 1000 1\n', 'PUB late2 2 1000 1\n']);
  });

  it('adds a subscriber to existing sensors when it subscribes', () => {
    const { hub, send, store } = setup();
    send('a', 1);
    const sub = new Recorder();
    hub.subscribe(sub, 'a');
    expect(hub.subscribersOf(store.get('a')!)).toEqual([sub]);
    send('a', 2);
    expect(sub.lines).toEqual(['PUB a 2 1000 2\n']);
  });

  it('keeps delivering through the remaining pattern after an UNSUB of one of two', () => {
    const { hub, send } = setup();
    const sub = new Recorder();
    hub.subscribe(sub, '*');
    hub.subscribe(sub, 'a*');
    send('abc', 1);
    send('xyz', 1);
    expect(hub.unsubscribe(sub, '*')).toBe(1);
    send('abc', 2);
    send('xyz', 2);
    expect(sub.lines).toEqual(['PUB abc 1 1000 1\n', 'PUB xyz 1 1000 1\n', 'PUB abc 2 1000 2\n']);
  });

  it('unsubscribes from everything when no pattern is given', () => {
    const { hub, send } = setup();
    const sub = new Recorder();
    hub.subscribe(sub, 'a');
    hub.subscribe(sub, 'b');
    expect(hub.subscriptionCount).toBe(2);
    expect(hub.unsubscribe(sub)).toBe(2);
    expect(hub.unsubscribe(sub)).toBe(0);
    send('a', 1);
    expect(sub.lines).toEqual([]);
    expect(hub.subscriptionCount).toBe(0);
    expect(hub.subscriberCount).toBe(0);
  });

  it('does not count the same pattern twice', () => {
    const { hub } = setup();
    const sub = new Recorder();
    expect(hub.subscribe(sub, 'a*')).toBe(true);
    expect(hub.subscribe(sub, 'a*')).toBe(false);
    expect(hub.subscriptionCount).toBe(1);
    expect(hub.unsubscribe(sub, 'nope')).toBe(0);
  });

  it('lets a subscriber leave while a reading is being delivered', () => {
    const { hub, send } = setup();
    const second = new Recorder();
    const first = new Recorder();
    first.push = () => {
      hub.remove(second);
      return true;
    };
    hub.subscribe(first, '*');
    hub.subscribe(second, '*');
    expect(send('a', 1)).toBe(2);
    send('a', 2);
    expect(second.lines).toEqual(['PUB a 1 1000 1\n']);
  });

  it('reports how many subscribers accepted a reading', () => {
    const { hub, send } = setup();
    const a = new Recorder();
    const b = new Recorder();
    b.accept = false;
    hub.subscribe(a, '*');
    hub.subscribe(b, '*');
    expect(send('x', 1)).toBe(1);
  });
});

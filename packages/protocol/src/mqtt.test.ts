import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { IngestCollector } from './collector.js';
import type { RejectReason } from './errors.js';
import { NameCache } from './ingest.js';
import { mapMqttMessage, MQTT_MAP_DEFAULTS, type MqttMapOptions } from './mqtt.js';
import { isValidName } from './names.js';
import { bytes, streamBytes } from './testing/bytes.js';
import { referenceName } from './testing/names.js';
import type { IngestReading } from './types.js';

const reading = (name: string, value: number, timestampMs?: number): IngestReading => ({
  name,
  value,
  timestampMs,
  senderSeq: undefined,
});

function map(topic: string, payload: string | Uint8Array, options?: MqttMapOptions): IngestCollector {
  const sink = new IngestCollector();
  mapMqttMessage(topic, typeof payload === 'string' ? bytes(payload) : payload, sink, options);
  return sink;
}

const pairs = (sink: IngestCollector) => sink.readings.map((r) => [r.name, r.value]);

describe('mapMqttMessage: what devices publish (the package README, "MQTT")', () => {
  it('maps a Tasmota SENSOR message, its zoneless local Time left for the receive time', () => {
    const sink = map(
      'tele/kitchen/SENSOR',
      '{"Time":"2024-01-01T12:00:00","AM2301":{"Temperature":21.5,"Humidity":40.0,"DewPoint":7.4},"TempUnit":"C"}',
    );
    expect(sink.rejects).toEqual([]);
    expect(sink.readings).toEqual([
      reading('tele/kitchen/SENSOR/AM2301/Temperature', 21.5),
      reading('tele/kitchen/SENSOR/AM2301/Humidity', 40),
      reading('tele/kitchen/SENSOR/AM2301/DewPoint', 7.4),
    ]);
    expect(sink.ignoredCount).toBe(1);
  });

  it('reads a zoneless Time at zonelessTimeOffsetMinutes east of UTC', () => {
    const sink = map('tele/kitchen/SENSOR', '{"Time":"2024-01-01T12:00:00","AM2301":{"Temperature":21.5}}', {
      zonelessTimeOffsetMinutes: 60,
    });
    expect(sink.readings).toEqual([reading('tele/kitchen/SENSOR/AM2301/Temperature', 21.5, Date.UTC(2024, 0, 1, 11))]);
  });

  it('maps a Tasmota energy message whose Time carries its offset (SetOption52)', () => {
    const sink = map(
      'tele/plug/SENSOR',
      '{"Time":"2024-01-01T12:00:00+01:00","ENERGY":{"TotalStartTime":"2023-01-01T00:00:00","Total":12.345,' +
        '"Yesterday":0.5,"Today":0.25,"Period":0,"Power":42,"Factor":0.84,"Voltage":230,"Current":0.217}}',
    );
    const t = Date.UTC(2024, 0, 1, 11);
    expect(sink.readings.map((r) => r.timestampMs)).toEqual(Array(8).fill(t));
    expect(pairs(sink)).toEqual([
      ['tele/plug/SENSOR/ENERGY/Total', 12.345],
      ['tele/plug/SENSOR/ENERGY/Yesterday', 0.5],
      ['tele/plug/SENSOR/ENERGY/Today', 0.25],
      ['tele/plug/SENSOR/ENERGY/Period', 0],
      ['tele/plug/SENSOR/ENERGY/Power', 42],
      ['tele/plug/SENSOR/ENERGY/Factor', 0.84],
      ['tele/plug/SENSOR/ENERGY/Voltage', 230],
      ['tele/plug/SENSOR/ENERGY/Current', 0.217],
    ]);
    expect(sink.ignoredCount).toBe(1); // TotalStartTime is not the top-level time
  });

  it('maps a Tasmota STATE message: numbers kept, strings counted', () => {
    const sink = map(
      'tele/kitchen/STATE',
      '{"Time":"2024-01-01T12:00:00","Uptime":"0T00:10:00","UptimeSec":600,"Heap":25,"SleepMode":"Dynamic",' +
        '"Sleep":50,"LoadAvg":19,"MqttCount":1,"POWER":"ON","Wifi":{"AP":1,"SSId":"home","BSSId":"AA:BB:CC:DD:EE:FF",' +
        '"Channel":6,"Mode":"11n","RSSI":100,"Signal":-45,"LinkCount":1,"Downtime":"0T00:00:03"}}',
    );
    expect(pairs(sink)).toEqual([
      ['tele/kitchen/STATE/UptimeSec', 600],
      ['tele/kitchen/STATE/Heap', 25],
      ['tele/kitchen/STATE/Sleep', 50],
      ['tele/kitchen/STATE/LoadAvg', 19],
      ['tele/kitchen/STATE/MqttCount', 1],
      ['tele/kitchen/STATE/Wifi/AP', 1],
      ['tele/kitchen/STATE/Wifi/Channel', 6],
      ['tele/kitchen/STATE/Wifi/RSSI', 100],
      ['tele/kitchen/STATE/Wifi/Signal', -45],
      ['tele/kitchen/STATE/Wifi/LinkCount', 1],
    ]);
    expect(sink.ignoredCount).toBe(7);
  });

  it('maps a Shelly Gen2 switch status: switch:0 as switch_0, arrays by index', () => {
    const sink = map(
      'shellies/shellyplus1pm-a8032ab12345/status/switch:0',
      '{"id":0,"source":"init","output":false,"apower":12.3,"voltage":235.5,"current":0.052,' +
        '"aenergy":{"total":1.234,"by_minute":[0.5,0.25,0.0],"minute_ts":1654511180},"temperature":{"tC":41.2,"tF":106.2}}',
    );
    const base = 'shellies/shellyplus1pm-a8032ab12345/status/switch_0';
    expect(pairs(sink)).toEqual([
      [`${base}/id`, 0],
      [`${base}/apower`, 12.3],
      [`${base}/voltage`, 235.5],
      [`${base}/current`, 0.052],
      [`${base}/aenergy/total`, 1.234],
      [`${base}/aenergy/by_minute/0`, 0.5],
      [`${base}/aenergy/by_minute/1`, 0.25],
      [`${base}/aenergy/by_minute/2`, 0],
      [`${base}/aenergy/minute_ts`, 1654511180],
      [`${base}/temperature/tC`, 41.2],
      [`${base}/temperature/tF`, 106.2],
    ]);
    expect(sink.readings.every((r) => r.timestampMs === undefined)).toBe(true);
    expect(sink.ignoredCount).toBe(2);
  });

  it('maps a Zigbee2MQTT device message, a friendly name with blanks, the state counted', () => {
    const sink = map(
      'zigbee2mqtt/Living room sensor',
      '{"battery":97,"humidity":48.2,"linkquality":120,"temperature":21.5,"voltage":2995,"state":"ON",' +
        '"update":{"state":"idle","installed_version":123,"latest_version":124},"update_available":false}',
    );
    const base = 'zigbee2mqtt/Living_room_sensor';
    expect(pairs(sink)).toEqual([
      [`${base}/battery`, 97],
      [`${base}/humidity`, 48.2],
      [`${base}/linkquality`, 120],
      [`${base}/temperature`, 21.5],
      [`${base}/voltage`, 2995],
      [`${base}/update/installed_version`, 123],
      [`${base}/update/latest_version`, 124],
    ]);
    expect(sink.ignoredCount).toBe(3);
  });

  it('maps a bare number as ESPHome and Shelly Gen1 publish it, at the receive time', () => {
    expect(map('livingroom/sensor/temperature/state', '21.5').readings).toEqual([
      reading('livingroom/sensor/temperature/state', 21.5),
    ]);
    expect(map('shellies/shelly1-1234/relay/0/power', ' 12.3\r\n').readings).toEqual([
      reading('shellies/shelly1-1234/relay/0/power', 12.3),
    ]);
  });

  it.each<[string, string, RejectReason]>([
    ['ESPHome nan for a sensor without a value', 'nan', 'bad-number'],
    ['-nan as C prints it', '-nan', 'bad-number'],
    ['Infinity', 'Infinity', 'bad-number'],
    ['a number with a unit', '12ms', 'bad-number'],
    ['a comma decimal', '21,5', 'bad-number'],
    ['a state: ON', 'ON', 'unsupported-type'],
    ['an availability message', 'online', 'unsupported-type'],
    ['a JSON string', '"21.5"', 'unsupported-type'],
    ['JSON true', 'true', 'unsupported-type'],
    ['JSON with no number', '{"state":"ON","ok":true,"n":null}', 'unsupported-type'],
    ['an empty object', '{}', 'unsupported-type'],
    ['an empty array', ' [ ] ', 'unsupported-type'],
    ['JSON cut short', '{"a":1', 'bad-syntax'],
    ['a trailing comma', '{"a":1,}', 'bad-syntax'],
    ['single quotes', "{'a':1}", 'bad-syntax'],
    ['an unquoted key', '{a:1}', 'bad-syntax'],
    ['a missing colon', '{"a" 1}', 'bad-syntax'],
    ['two values', '{"a":1} {"b":2}', 'bad-syntax'],
    ['a raw control character in a string', '{"a\u0001":1}', 'bad-syntax'],
    ['a bad escape', '{"a\\x":1}', 'bad-syntax'],
    ['a short \\u escape', '{"\\u12":1}', 'bad-syntax'],
    ['a JSON number with a leading zero', '{"a":01}', 'bad-syntax'],
    ['a JSON number with a plus', '{"a":+1}', 'bad-syntax'],
    ['a JSON number ending in a point', '{"a":1.}', 'bad-syntax'],
    ['nan inside JSON (lowercase)', '{"a":nan}', 'bad-syntax'],
    ['a time field that is not a time', '{"time":"soon","v":1}', 'bad-timestamp'],
    ['a negative numeric time', '{"ts":-5,"v":1}', 'bad-timestamp'],
    ['a numeric time of 1e20 or more', '{"ts":1e20,"v":1}', 'bad-timestamp'],
    ['a time before 1970', '{"Time":"1969-12-31T23:59:59Z","v":1}', 'bad-timestamp'],
    ['an impossible date', '{"Time":"2023-02-29T00:00:00Z","v":1}', 'bad-timestamp'],
    ['a time with an escape in it', '{"Time":"2024-01-01T12:00:00\\u005a","v":1}', 'bad-timestamp'],
  ])('refuses %s', (_label, payload, reason) => {
    const sink = map('dev/x', payload);
    expect(sink.readings).toEqual([]);
    expect(sink.rejects).toEqual([{ reason, line: payload }]);
  });

  it('takes an empty payload (a retained message being cleared) as nothing', () => {
    expect(map('dev/x', '')).toMatchObject({ readings: [], rejects: [], ignoredCount: 0 });
    expect(map('dev/x', ' \r\n')).toMatchObject({ readings: [], rejects: [] });
  });

  it('counts NaN, Infinity, -Infinity (as Python writes them) and 1e400 as ignored, not as readings', () => {
    const sink = map('py/x', '{"a":NaN,"b":Infinity,"c":-Infinity,"d":1e400,"e":[1,null,true,false]}');
    expect(pairs(sink)).toEqual([['py/x/e/0', 1]]);
    expect(sink.ignoredCount).toBe(7);
  });

  it('reports ignored parts once per message, after its readings, with the payload', () => {
    const calls: string[] = [];
    const payload = bytes('{"a":1,"s":"x","b":2,"t":true}');
    mapMqttMessage('d', payload, {
      reading: (name) => calls.push(name),
      reject: () => expect.unreachable(),
      ignored: (count, line) => calls.push(`ignored ${count} ${line === payload}`),
    });
    expect(calls).toEqual(['d/a', 'd/b', 'ignored 2 true']);
  });
});

describe('mapMqttMessage: names', () => {
  it.each<[string, string, string]>([
    ['characters outside the alphabet as _', 'home/Küche Temp°C', 'home/K_che_Temp_C'],
    ['an emoji as one _', 'home/🌡/t', 'home/_/t'],
    ['$SYS topics', '$SYS/broker/load', '_SYS/broker/load'],
    ['a leading / kept', '/home/t', '/home/t'],
    ['an empty level kept', 'home//t', 'home//t'],
  ])('maps %s', (_label, topic, name) => {
    expect(map(topic, '1').readings).toEqual([reading(name, 1)]);
  });

  it('maps JSON keys the same way, escapes undone first', () => {
    const sink = map('d', '{"a b":1,"é":2,"\\u00e9\\n":3,"x\\/y":4,"\\ud83c\\udf21":5,"\\u0041":6,"":7}');
    expect(sink.readings.map((r) => r.name)).toEqual(['d/a_b', 'd/_', 'd/__', 'd/x/y', 'd/_', 'd/A', 'd/']);
  });

  it.each<[string, string]>([
    ['an empty topic', ''],
    ['a topic with +', 'home/+/t'],
    ['a topic with #', 'home/#'],
    ['a topic over 128 bytes', `t/${'x'.repeat(127)}`],
  ])('refuses %s as bad-name', (_label, topic) => {
    expect(map(topic, '1').rejects).toEqual([{ reason: 'bad-name', line: '1' }]);
  });

  it('refuses a message whose leaf name would pass 128 bytes, whole', () => {
    const sink = map(`t/${'x'.repeat(100)}`, `{"short":1,"${'k'.repeat(30)}":2}`);
    expect(sink.readings).toEqual([]);
    expect(sink.rejects.map((r) => r.reason)).toEqual(['bad-name']);
  });

  it('ignores a long name on a leaf that is not a number', () => {
    expect(pairs(map('t', `{"v":1,"${'k'.repeat(200)}":"text"}`))).toEqual([['t/v', 1]]);
  });

  it('returns equal name strings from a NameCache, across messages', () => {
    const nameCache = new NameCache();
    const a = map('zigbee2mqtt/hall', '{"temperature":21.5}', { nameCache }).readings[0]?.name;
    const b = map('zigbee2mqtt/hall', '{"temperature":22}', { nameCache }).readings[0]?.name;
    expect(a).toBe('zigbee2mqtt/hall/temperature');
    expect(Object.is(a, b)).toBe(true);
  });
});

describe('mapMqttMessage: the time field', () => {
  const at = (payload: string, options?: MqttMapOptions) =>
    map('d', payload, options).readings.map((r) => r.timestampMs);

  it.each<[string, string, number | undefined]>([
    ['epoch seconds with a fraction, exact', '{"ts":1764316800.125,"v":1}', 1764316800125],
    ['epoch seconds with an exponent', '{"ts":1.7643168e9,"v":1}', 1764316800000],
    ['epoch milliseconds', '{"time":1764316800125,"v":1}', 1764316800125],
    ['epoch microseconds', '{"time":1764316800125000,"v":1}', 1764316800125],
    ['epoch nanoseconds', '{"time":1764316800125000000,"v":1}', 1764316800125],
    ['seconds just below 1e11', '{"ts":99999999999,"v":1}', 99999999999000],
    ['ISO with Z', '{"time":"2025-11-28T08:00:00Z","v":1}', 1764316800000],
    ['ISO with a fraction and lowercase z', '{"time":"2025-11-28t08:00:00.125z","v":1}', 1764316800125],
    ['ISO with a negative offset', '{"Time":"2025-11-28T03:00:00-05:00","v":1}', 1764316800000],
    ['ISO with an offset without a colon', '{"Time":"2025-11-28T09:30:00+0130","v":1}', 1764316800000],
    ['ISO with an hour-only offset', '{"Time":"2025-11-28T09:00:00+01","v":1}', 1764316800000],
    ['ISO with a space and no seconds', '{"Time":"2025-11-28 08:00Z","v":1}', 1764316800000],
    ['a leap day', '{"Time":"2024-02-29T00:00:00Z","v":1}', Date.UTC(2024, 1, 29)],
    ['the time field after the data', '{"v":1,"ts":1764316800}', 1764316800000],
    ['a zoneless ISO time: the receive time', '{"Time":"2025-11-28T08:00:00","v":1}', undefined],
  ])('reads %s', (_label, payload, ms) => {
    expect(at(payload)).toEqual([ms]);
  });

  it('uses only the first top-level time field, and reads the others as data', () => {
    const sink = map('d', '{"ts":1764316800,"time":5,"params":{"ts":1764316801.5,"x":1}}');
    expect(sink.readings).toEqual([
      reading('d/time', 5, 1764316800000),
      reading('d/params/ts', 1764316801.5, 1764316800000),
      reading('d/params/x', 1, 1764316800000),
    ]);
  });

  it('reads a time member that is not a string or a number as data', () => {
    expect(pairs(map('d', '{"time":{"uptime":5},"ts":true,"v":1}'))).toEqual([
      ['d/time/uptime', 5],
      ['d/v', 1],
    ]);
  });

  it('does not look for a time field in a top-level array', () => {
    expect(map('d', '[{"ts":1764316800}]').readings).toEqual([reading('d/0/ts', 1764316800)]);
  });

  it('validates zonelessTimeOffsetMinutes', () => {
    expect(() => map('d', '1', { zonelessTimeOffsetMinutes: 1441 })).toThrow(RangeError);
    expect(() => map('d', '1', { zonelessTimeOffsetMinutes: 1.5 })).toThrow(RangeError);
    expect(() => map('d', '1', { zonelessTimeOffsetMinutes: '60' as unknown as number })).toThrow(TypeError);
  });
});

describe('mapMqttMessage: bounds', () => {
  it('refuses a payload over maxPayloadBytes without reading it', () => {
    const payload = `{"v":${'1'.repeat(MQTT_MAP_DEFAULTS.maxPayloadBytes)}}`;
    expect(map('d', payload).rejects.map((r) => r.reason)).toEqual(['too-large']);
    expect(map('d', '12345', { maxPayloadBytes: 4 }).rejects.map((r) => r.reason)).toEqual(['too-large']);
    expect(map('d', '1234', { maxPayloadBytes: 4 }).readings).toHaveLength(1);
  });

  it('refuses JSON nested deeper than maxDepth, and reads it at maxDepth', () => {
    const nested = (depth: number) => `${'['.repeat(depth)}1${']'.repeat(depth)}`;
    expect(map('d', nested(32)).readings).toEqual([reading(`d${'/0'.repeat(32)}`, 1)]);
    expect(map('d', nested(33)).rejects.map((r) => r.reason)).toEqual(['too-deep']);
    expect(map('d', '{"a":{"b":1}}', { maxDepth: 1 }).rejects.map((r) => r.reason)).toEqual(['too-deep']);
  });

  it('survives nesting a million levels deep: no recursion', () => {
    const depth = 1_000_000;
    const payload = new Uint8Array(depth * 2 + 1).fill(0x5b);
    payload[depth] = 0x31;
    payload.fill(0x5d, depth + 1);
    expect(map('d', payload, { maxPayloadBytes: payload.length }).rejects.map((r) => r.reason)).toEqual(['too-deep']);
    const deep = map('d', payload, { maxPayloadBytes: payload.length, maxDepth: depth });
    expect(deep.rejects.map((r) => r.reason)).toEqual(['bad-name']); // read to the end: its one name is far too long
  });

  it('refuses more numeric leaves than maxLeaves, and reads maxLeaves of them', () => {
    const leaves = (n: number) => JSON.stringify(Array.from({ length: n }, (_, k) => k));
    expect(map('d', leaves(256)).readings).toHaveLength(256);
    expect(map('d', leaves(257)).rejects.map((r) => r.reason)).toEqual(['too-large']);
    expect(map('d', '[1,"a","b",2]', { maxLeaves: 2 }).readings).toHaveLength(2);
  });

  it('validates its options', () => {
    expect(() => map('d', '1', { maxDepth: 0 })).toThrow(RangeError);
    expect(() => map('d', '1', { maxLeaves: 1.5 })).toThrow(RangeError);
    expect(() => map('d', '1', { maxPayloadBytes: '1' as unknown as number })).toThrow(TypeError);
    expect(() => mapMqttMessage(1 as unknown as string, bytes('1'), new IngestCollector())).toThrow(TypeError);
    expect(() => mapMqttMessage('d', '1' as unknown as Uint8Array, new IngestCollector())).toThrow(TypeError);
  });
});

// ---------------------------------------------------------------------------
// Properties

const TIME_KEYS = new Set(['Time', 'time', 'ts']);

/** What a JSON value should give, walked recursively (test values are shallow). */
function expectedOf(
  topic: string,
  value: unknown,
  options: { maxDepth: number; maxLeaves: number },
): { readings: IngestReading[]; ignored: number; reason: RejectReason | undefined } {
  const readings: IngestReading[] = [];
  let ignored = 0;
  const walk = (v: unknown, name: string, depth: number): RejectReason | undefined => {
    if (typeof v === 'number') {
      if (readings.length === options.maxLeaves) return 'too-large';
      if (name.length > 128) return 'bad-name';
      readings.push(reading(name, v === 0 ? 0 : v));
      return undefined;
    }
    if (v === null || typeof v !== 'object') {
      ignored++;
      return undefined;
    }
    if (depth === options.maxDepth) return 'too-deep';
    const entries = Array.isArray(v) ? v.map((x, k) => [String(k), x] as const) : Object.entries(v);
    for (const [key, x] of entries) {
      const reason = walk(x, `${name}/${Array.isArray(v) ? key : referenceName(key)}`, depth + 1);
      if (reason !== undefined) return reason;
    }
    return undefined;
  };
  const reason = walk(value, referenceName(topic), 0);
  if (reason !== undefined) return { readings: [], ignored: 0, reason };
  if (readings.length === 0) return { readings: [], ignored: 0, reason: 'unsupported-type' };
  return { readings, ignored, reason: undefined };
}

const topicArb = fc
  .string({
    unit: fc.oneof(fc.constantFrom(...'ab/_-.'), fc.constantFrom('é', ' ', ':', '🌡')),
    minLength: 1,
    maxLength: 40,
  })
  .filter((t) => t.length > 0);

describe('mapMqttMessage: properties', () => {
  it('maps any JSON value to one reading per number, names as the rules say', () => {
    fc.assert(
      fc.property(
        topicArb,
        fc.oneof(fc.jsonValue({ maxDepth: 4 }), fc.array(fc.double(), { maxLength: 5 })),
        fc.integer({ min: 1, max: 6 }),
        fc.integer({ min: 1, max: 30 }),
        (topic, value, maxDepth, maxLeaves) => {
          const json = JSON.stringify(value);
          const top = JSON.parse(json) as unknown;
          fc.pre(typeof top === 'object' && top !== null); // scalars are the bare-number path
          if (!Array.isArray(top)) {
            for (const [k, v] of Object.entries(top))
              fc.pre(!(TIME_KEYS.has(k) && ['string', 'number'].includes(typeof v)));
          }
          const want = expectedOf(topic, top, { maxDepth, maxLeaves });
          const sink = map(topic, json, { maxDepth, maxLeaves, maxPayloadBytes: 1 << 20 });
          expect(sink.readings).toEqual(want.readings);
          expect(sink.rejects).toEqual(want.reason === undefined ? [] : [{ reason: want.reason, line: json }]);
          expect(sink.ignoredCount).toBe(want.ignored);
        },
      ),
      { numRuns: 3000 },
    );
  });

  it('reads any finite number payload back exactly, as one reading named after the topic', () => {
    fc.assert(
      fc.property(topicArb, fc.double({ noNaN: true, noDefaultInfinity: true }), (topic, value) => {
        expect(map(topic, String(value)).readings).toEqual([reading(referenceName(topic), Number(String(value)))]);
      }),
    );
  });

  it('never throws, and takes each message whole or refuses it once, whatever the bytes', () => {
    const jsonish = fc
      .array(fc.constantFrom(...bytes('{}[]":,.-+eE0123456789 \\/u tTrue nNull fAlse "ts" "Time" NaN Infinity')), {
        maxLength: 200,
      })
      .map((a) => Uint8Array.from(a));
    fc.assert(
      fc.property(
        fc.string({ maxLength: 20 }),
        fc.oneof(jsonish, streamBytes),
        fc.integer({ min: 1, max: 8 }),
        (topic, payload, maxDepth) => {
          let readings = 0;
          let rejects = 0;
          mapMqttMessage(
            topic,
            payload,
            {
              reading(name, value, timestampMs, senderSeq) {
                readings++;
                expect(isValidName(name)).toBe(true);
                expect(Number.isFinite(value)).toBe(true);
                expect(Number.isNaN(timestampMs) || (timestampMs >= 0 && timestampMs < 1e14)).toBe(true);
                expect(senderSeq).toBe(-1);
              },
              reject: () => rejects++,
            },
            { maxDepth },
          );
          expect(rejects).toBeLessThanOrEqual(1);
          expect(readings === 0 || rejects === 0).toBe(true);
        },
      ),
      { numRuns: 3000 },
    );
  });

  it('reads ISO 8601 times with any zone, fraction or separator', () => {
    fc.assert(
      fc.property(
        fc.date({ min: new Date(Date.UTC(1971, 0, 1)), max: new Date(Date.UTC(4999, 11, 31)), noInvalidDate: true }),
        fc.integer({ min: -23 * 60 - 59, max: 23 * 60 + 59 }),
        fc.constantFrom('Z', '+HH:MM', '+HHMM', 'none'),
        fc.constantFrom('T', ' '),
        fc.option(fc.integer({ min: 0, max: 999_999 }), { nil: undefined }),
        (date, offset, zone, sep, micros) => {
          const local = new Date(date.getTime() + (zone === 'Z' ? 0 : offset) * 60_000);
          const pad = (n: number, w = 2) => String(n).padStart(w, '0');
          const frac = micros === undefined ? '' : `.${pad(micros, 6)}`;
          const sign = offset < 0 ? '-' : '+';
          const abs = Math.abs(offset);
          const z =
            zone === 'Z'
              ? 'Z'
              : zone === 'none'
                ? ''
                : `${sign}${pad(Math.floor(abs / 60))}${zone === '+HH:MM' ? ':' : ''}${pad(abs % 60)}`;
          const text =
            `${pad(local.getUTCFullYear(), 4)}-${pad(local.getUTCMonth() + 1)}-${pad(local.getUTCDate())}${sep}` +
            `${pad(local.getUTCHours())}:${pad(local.getUTCMinutes())}:${pad(local.getUTCSeconds())}${frac}${z}`;
          const whole = Math.floor(date.getTime() / 1000) * 1000;
          const ms = micros === undefined ? whole : whole + micros / 1000;
          const options = zone === 'none' ? { zonelessTimeOffsetMinutes: offset } : {};
          expect(map('d', `{"Time":"${text}","v":1}`, options).readings[0]?.timestampMs).toBeCloseTo(ms, 3);
          if (zone !== '+HHMM' && sep === 'T' && micros === undefined && zone !== 'none') {
            expect(map('d', `{"Time":"${text}","v":1}`).readings[0]?.timestampMs).toBe(Date.parse(text));
          }
        },
      ),
      { numRuns: 2000 },
    );
  });
});

import { afterEach, describe, expect, it } from 'vitest';
import { VmHarness } from '../testing/vm-harness.js';
import { ManualClock } from '../vm/clock.js';

/**
 * Time, Duration and Location values of the `time` module, through real Lua: calendar fields,
 * Go layouts both ways, zones, exact arithmetic and the errors Wippy's code checks for.
 */

let h: VmHarness | undefined;

afterEach(() => {
  h?.close();
  h = undefined;
});

/** Runs `body` (Lua, with `time` in scope) as a process's main and returns its exit. */
async function run(body: string, clock?: ManualClock) {
  h = await VmHarness.create(clock ? { clock } : {});
  const source = `local time = require("time")
    return { main = function()\n${body}\nend }`;
  return h.run(source, [], { modules: ['time'] });
}

async function value(body: string) {
  const exit = await run(body);
  if (!exit.ok) throw new Error(`Lua failed: ${JSON.stringify(exit.error)}`);
  return exit.value;
}

describe('time values', () => {
  it('are userdata, for Time, Duration and Location alike', async () => {
    expect(
      await value(`return { type(time.now()), type(time.parse_duration("1s")), type(time.utc),
        type(time.unix(0)), getmetatable(time.now()) }`),
    ).toEqual(['userdata', 'userdata', 'userdata', 'userdata', false]);
  });

  it('time.date reads back its calendar fields, weekday and day of the year', async () => {
    expect(
      await value(`local t = time.date(2024, time.DECEMBER, 29, 15, 4, 5, 123456789, time.utc)
        local y, m, d = t:date()
        local hh, mm, ss = t:clock()
        return { t:year(), t:month(), t:day(), t:hour(), t:minute(), t:second(), t:nanosecond(),
          t:weekday(), t:year_day(), y, m, d, hh, mm, ss, t:unix() }`),
    ).toEqual([2024, 12, 29, 15, 4, 5, 123456789, 0, 364, 2024, 12, 29, 15, 4, 5, 1735484645]);
  });

  it('time.date carries fields out of range, as Go does: month 13, day 0, minute 60', async () => {
    expect(
      await value(`return {
        time.date(2024, 13, 1, 0, 0, 0, 0, time.utc):format(time.DATE_ONLY),
        time.date(2024, 3, 0, 0, 0, 0, 0, time.utc):format(time.DATE_ONLY),
        time.date(2023, 12, 31, 23, 60, 0, 0, time.utc):format(time.DATE_TIME),
        time.date(2024, 1, 1, 0, 0, 0, 1500000000, time.utc):format("05.000"),
        time.date(1969, 12, 31, 23, 59, 59, 0, time.utc):unix(),
        time.date(1600, 2, 29, 0, 0, 0, 0, time.utc):format(time.RFC1123),
      }`),
    ).toEqual([
      '2025-01-01',
      '2024-02-29',
      '2024-01-01 00:00:00',
      '01.500',
      -1,
      'Tue, 29 Feb 1600 00:00:00 UTC',
    ]);
  });

  it('time.unix keeps exact nanoseconds and carries them; a float of seconds keeps its fraction', async () => {
    expect(
      await value(`return {
        time.unix(1, 2500000000):unix_nano(), time.unix(0, -1):unix(), time.unix(0, -1):nanosecond(),
        time.unix(1.25):unix_nano(), time.unix(1735484645, 0):utc():hour(),
        time.unix(9000000000, 999999999):add(1):unix_nano() == 9000000001 * 1000000000 }`),
    ).toEqual([3500000000, -1, 999999999, 1250000000, 15, true]);
  });
});

describe('time layouts', () => {
  /** Go's reference time, 2006-01-02 15:04:05 in a zone named MST at -07:00. */
  const REFERENCE = 'time.date(2006, 1, 2, 15, 4, 5, 0, time.fixed_zone("MST", -7 * 3600))';

  it('format Go reference time as each layout constant spells it', async () => {
    const names = [
      'LAYOUT',
      'ANSIC',
      'UNIX_DATE',
      'RUBY_DATE',
      'RFC822',
      'RFC822Z',
      'RFC850',
      'RFC1123',
      'RFC1123Z',
      'RFC3339',
      'RFC3339NANO',
      'KITCHEN',
      'STAMP',
      'STAMP_MILLI',
      'STAMP_MICRO',
      'STAMP_NANO',
      'DATE_TIME',
      'DATE_ONLY',
      'TIME_ONLY',
    ];
    const out = (await value(`local ref = ${REFERENCE}
      local out = {}
      for _, name in ipairs({ "${names.join('", "')}" }) do
        out[#out + 1] = { time[name], ref:format(time[name]) }
      end
      return out`)) as [string, string][];
    expect(out.map(([layout]) => layout)).toEqual([
      "01/02 03:04:05PM '06 -0700",
      'Mon Jan _2 15:04:05 2006',
      'Mon Jan _2 15:04:05 MST 2006',
      'Mon Jan 02 15:04:05 -0700 2006',
      '02 Jan 06 15:04 MST',
      '02 Jan 06 15:04 -0700',
      'Monday, 02-Jan-06 15:04:05 MST',
      'Mon, 02 Jan 2006 15:04:05 MST',
      'Mon, 02 Jan 2006 15:04:05 -0700',
      '2006-01-02T15:04:05Z07:00',
      '2006-01-02T15:04:05.999999999Z07:00',
      '3:04PM',
      'Jan _2 15:04:05',
      'Jan _2 15:04:05.000',
      'Jan _2 15:04:05.000000',
      'Jan _2 15:04:05.000000000',
      '2006-01-02 15:04:05',
      '2006-01-02',
      '15:04:05',
    ]);
    // Each layout reproduces itself, except that Z07:00 is "Z" only at UTC, "_2" pads with a
    // space and an all-zero ".999…" fraction is left out.
    for (const [layout, formatted] of out) {
      const expected = layout
        .replace('Z07:00', '-07:00')
        .replace('_2', ' 2')
        .replace('.999999999', '');
      expect(formatted).toBe(expected);
    }
  });

  it('format fractions, 12-hour clocks, padded days and days of the year', async () => {
    expect(
      await value(`local t = time.date(2024, 2, 5, 9, 7, 3, 120000000, time.utc)
        return { t:format(".000 .999 .000000 ,999999999"), t:format("3:4:5 PM pm 03"),
          t:format("_2|02|2|__2|002|Mon Monday Jan January 06 1 01"),
          t:format("Z07:00 Z0700 Z07 -07:00 -0700 MST"),
          time.unix(0):in_location(time.fixed_zone("", 5 * 3600 + 30 * 60)):format("Z07:00 -0700 MST Z07:00:00"),
          t:format("Monthly 2006_2006 _2006"), tostring(t), t:format_rfc3339() }`),
    ).toEqual([
      '.120 .12 .120000 ,12',
      '9:7:3 AM am 09',
      ' 5|05|5| 36|036|Mon Monday Feb February 24 2 02',
      // At UTC every Z… shape writes "Z"; the -… shapes always write numbers.
      'Z Z Z +00:00 +0000 UTC',
      '+05:30 +0530 +0530 +05:30:00',
      // "Mon" followed by a lowercase letter is text; "_2006" is an underscore and the year.
      'Monthly 2024_2024 _2024',
      '2024-02-05T09:07:03.12Z',
      '2024-02-05T09:07:03Z',
    ]);
  });

  it('time.parse reads each layout constant back to the same instant', async () => {
    expect(
      await value(`local ref = time.date(2006, 1, 2, 15, 4, 5, 123456789, time.fixed_zone("", -7 * 3600))
        local out = {}
        for _, name in ipairs({ "RFC3339", "RFC3339NANO", "RFC1123Z", "RUBY_DATE", "LAYOUT" }) do
          local t, err = time.parse(time[name], ref:format(time[name]))
          out[#out + 1] = err or (t:unix() == ref:unix() and t:format("-07:00") == "-07:00")
        end
        local nano = time.parse(time.RFC3339NANO, ref:format(time.RFC3339NANO))
        out[#out + 1] = nano:nanosecond()
        return out`),
    ).toEqual([true, true, true, true, true, 123456789]);
  });

  it('time.parse fills what the layout leaves out: year 0, January 1, UTC', async () => {
    expect(
      await value(`local t = assert(time.parse("15:04:05", "14:30:00"))
        local d = assert(time.parse("2006-01-02", "2024-12-29"))
        local z = assert(time.parse(time.RFC3339, "2024-12-29T15:04:05Z"))
        return { t:year(), t:month(), t:day(), t:hour(), t:minute(), t:location():string(),
          d:unix(), tostring(z:location()), z:unix() }`),
    ).toEqual([0, 1, 1, 14, 30, 'UTC', 1735430400, 'UTC', 1735484645]);
  });

  it('time.parse reads 12-hour clocks, month names in any case, extra fractions and spaces', async () => {
    expect(
      await value(`local function f(layout, text)
          local t, err = time.parse(layout, text)
          return err and err:message() or t:format("2006-01-02 15:04:05.999999999")
        end
        return { f("3:04PM", "12:30AM"), f("3:04pm", "1:05pm"), f("Jan 2 2006", "dec 25 2024"),
          f("January 2, 2006", "MARCH 9, 2024"), f("2006-01-02 15:04:05", "2024-01-01 10:00:00.25"),
          f("2006  01", "2024 03"), f("Jan _2", "Feb  7"), f("2006 002", "2024 060"),
          f("06-01-02", "69-01-02"), f("06-01-02", "68-01-02") }`),
    ).toEqual([
      '0000-01-01 00:30:00',
      '0000-01-01 13:05:00',
      '2024-12-25 00:00:00',
      '2024-03-09 00:00:00',
      '2024-01-01 10:00:00.25',
      '2024-03-01 00:00:00',
      '0000-02-07 00:00:00',
      '2024-02-29 00:00:00',
      '1969-01-02 00:00:00',
      '2068-01-02 00:00:00',
    ]);
  });

  it("time.parse fails with INVALID, not retryable, in Go's words", async () => {
    expect(
      await value(`local function f(layout, text)
          local t, err = time.parse(layout, text)
          assert(t == nil and err:kind() == errors.INVALID and err:retryable() == false)
          return err:message()
        end
        return { f("2006-01-02", "invalid-date"), f("2006-01-02", "2024-13-01"),
          f("2006-01-02", "2023-02-29"), f("2006-01-02", "2024-01-02 extra"),
          f("2006-01-02T15:04:05Z07:00", "2024-01-02T25:00:00Z"),
          f("2006-01-02 15:04", "2024-01-02 x1:04"), f("Jan 2", "Foo 2") }`),
    ).toEqual([
      'parsing time "invalid-date" as "2006-01-02": cannot parse "invalid-date" as "2006"',
      'parsing time "2024-13-01": month out of range',
      'parsing time "2023-02-29": day out of range',
      'parsing time "2024-01-02 extra": extra text: " extra"',
      'parsing time "2024-01-02T25:00:00Z": hour out of range',
      'parsing time "2024-01-02 x1:04" as "2006-01-02 15:04": cannot parse "x1:04" as "15"',
      'parsing time "Foo 2" as "Jan 2": cannot parse "Foo 2" as "Jan"',
    ]);
  });

  it('time.parse keeps the zone the text names: an offset, an abbreviation, or the given location', async () => {
    expect(
      await value(`local ny = assert(time.load_location("America/New_York"))
        local a = assert(time.parse(time.RFC3339, "2024-01-15T12:00:00+05:30"))
        local b = assert(time.parse("2006-01-02 15:04 MST", "2024-01-15 12:00 EST", ny))
        local c = assert(time.parse("2006-01-02 15:04 MST", "2024-01-15 12:00 XYZ"))
        local d = assert(time.parse("2006-01-02 15:04", "2024-07-15 12:00", ny))
        local e = assert(time.parse("2006-01-02 15:04 MST", "2024-01-15 12:00 GMT+3"))
        local f = assert(time.parse("2006-01-02 15:04 MST", "2024-07-15 12:00 EST", ny))
        return { a:utc():format(time.DATE_TIME), a:location():string(), a:format(time.RFC3339),
          b:utc():hour(), b:location():string(), c:utc():hour(), c:format("MST -0700"),
          d:utc():hour(), e:utc():hour(), f:utc():hour(), f:location():string() }`),
    ).toEqual([
      '2024-01-15 06:30:00',
      '',
      '2024-01-15T12:00:00+05:30',
      17,
      'America/New_York',
      12,
      'XYZ +0000',
      16,
      9,
      // EST in July, when New York keeps EDT: still New York's -05:00, as Go reads it.
      17,
      'America/New_York',
    ]);
  });
});

describe('time zones', () => {
  it('load_location finds IANA zones with their offsets and abbreviations through the year', async () => {
    expect(
      await value(`local ny = assert(time.load_location("America/New_York"))
        local tokyo = assert(time.load_location("Asia/Tokyo"))
        local winter = time.date(2024, 1, 15, 12, 0, 0, 0, ny)
        local summer = time.date(2024, 7, 15, 12, 0, 0, 0, ny)
        local noon = time.date(2024, 7, 15, 12, 0, 0, 0, time.utc)
        return { ny:string(), tostring(ny), winter:utc():hour(), summer:utc():hour(),
          winter:format("15:04 MST Z07:00"), summer:format("15:04 MST -0700"),
          noon:in_location(tokyo):format("2006-01-02 15:04 Z07:00"),
          noon:in_location(ny):location():string(), noon:in_location(ny):equal(noon),
          winter:utc():location():string() }`),
    ).toEqual([
      'America/New_York',
      'America/New_York',
      17,
      16,
      '12:00 EST -05:00',
      '12:00 EDT -0400',
      '2024-0715 21:00 +09:00'.replace('07', '07-'),
      'America/New_York',
      true,
      'UTC',
    ]);
  });

  it('a wall time across a daylight-saving change lands on the right side of it', async () => {
    expect(
      await value(`local ny = assert(time.load_location("America/New_York"))
        local before = time.date(2024, 3, 10, 1, 30, 0, 0, ny)
        local after = time.date(2024, 3, 10, 3, 30, 0, 0, ny)
        return { before:format("15:04 MST"), after:format("15:04 MST"), after:sub(before):hours(),
          before:add_date(0, 0, 1):format("2006-01-02 15:04 MST") }`),
    ).toEqual(['01:30 EST', '03:30 EDT', 1, '2024-03-11 01:30 EDT']);
  });

  it('fixed_zone names a constant offset; utc and localtz are built in', async () => {
    expect(
      await value(`local ist = time.fixed_zone("IST", 5 * 3600 + 30 * 60)
        local t = time.date(2024, 1, 15, 12, 0, 0, 0, ist)
        return { ist:string(), t:utc():format("15:04"), t:format("15:04 MST -07:00"),
          time.utc:string(), #time.localtz:string() > 0, time.load_location("UTC") == time.utc,
          time.load_location("Local") == time.localtz }`),
    ).toEqual(['IST', '06:30', '12:00 IST +05:30', 'UTC', true, true, true]);
  });

  it('load_location answers NOT_FOUND for an unknown zone and INVALID for an empty name', async () => {
    expect(
      await value(`local a, err = time.load_location("Invalid/Location")
        local b, empty = time.load_location("")
        return { a == nil, err:kind() == errors.NOT_FOUND, err:retryable(), err:message(), b == nil,
          empty:kind() == errors.INVALID,
          empty:retryable(), (pcall(time.load_location, 42)),
          time.load_location("america/new_york") == nil, time.load_location("US/Eastern"):string() }`),
    ).toEqual([
      true,
      true,
      false,
      'unknown time zone Invalid/Location',
      true,
      true,
      false,
      false,
      // Zone names are case-sensitive (as Go's zone files are); old aliases are zones too.
      true,
      'US/Eastern',
    ]);
  });

  it('time.date without a location and time.localtz follow the node zone (TZ)', async () => {
    const saved = process.env.TZ;
    process.env.TZ = 'Asia/Tokyo';
    try {
      expect(
        await value(`local t = time.date(2024, 1, 1, 9, 0, 0, 0)
          return { time.localtz:string(), t:utc():hour(), t:location() == time.localtz,
            time.unix(0):in_local():format("15:04 MST"), time.now():location():string() }`),
      ).toEqual(['Local', 0, true, '09:00 +09', 'UTC']);
    } finally {
      if (saved === undefined) delete process.env.TZ;
      else process.env.TZ = saved;
    }
  });

  it('a TZ that names no zone makes time.localtz UTC, not a zone that fails on use', async () => {
    const saved = process.env.TZ;
    process.env.TZ = 'Nowhere/Atlantis';
    try {
      expect(
        await value(
          `return { time.localtz:string(), time.date(2024, 1, 1, 9, 0, 0, 0):utc():hour() }`,
        ),
      ).toEqual(['UTC', 9]);
    } finally {
      if (saved === undefined) delete process.env.TZ;
      else process.env.TZ = saved;
    }
  });
});

describe('time arithmetic', () => {
  it('add, sub and add_date are exact to the nanosecond and follow the calendar', async () => {
    expect(
      await value(`local t = time.date(2024, 1, 31, 23, 59, 59, 999999999, time.utc)
        local later = t:add(1)
        return { later:format(time.RFC3339NANO), later:sub(t):nanoseconds(),
          t:add(-time.HOUR * 24 * 365):format(time.DATE_ONLY), t:add("1h30m"):format("15:04"),
          t:add_date(0, 1, 0):format(time.DATE_ONLY), t:add_date(1, 2, 3):format(time.DATE_ONLY),
          t:add_date(0, -1, 0):format(time.DATE_ONLY),
          time.date(3000, 1, 1, 0, 0, 0, 0, time.utc):sub(time.date(1000, 1, 1, 0, 0, 0, 0, time.utc)):nanoseconds() == math.maxinteger,
          time.date(1000, 1, 1, 0, 0, 0, 0, time.utc):sub(time.date(3000, 1, 1, 0, 0, 0, 0, time.utc)):nanoseconds() == math.mininteger }`),
    ).toEqual([
      '2024-02-01T00:00:00Z',
      1,
      '2023-01-31',
      '01:29',
      '2024-03-02',
      '2025-04-03',
      '2023-12-31',
      true,
      true,
    ]);
  });

  it("round and truncate count from Go's zero time, halves round up, non-positive durations change nothing", async () => {
    expect(
      await value(`local t = assert(time.parse(time.RFC3339NANO, "2024-01-01T12:34:56.789Z"))
        local half = assert(time.parse(time.RFC3339NANO, "2024-01-01T12:34:56.5Z"))
        local f = "2006-01-02T15:04:05.999999999"
        return { t:round(time.parse_duration("1s")):format(f), t:truncate(time.parse_duration("1m")):format(f),
          half:round(time.SECOND):format(f), t:round("7h"):format(f), t:truncate("7h"):format(f),
          t:round(0):equal(t), t:truncate(-5):equal(t), t:round("1ms"):format(f),
          time.date(1, 1, 1, 0, 0, 0, 0, time.utc):is_zero(), t:is_zero() }`),
    ).toEqual([
      '2024-01-01T12:34:57',
      '2024-01-01T12:34:00',
      '2024-01-01T12:34:57',
      // 2024-01-01T12:00 is 738885 days and 12 hours after 0001-01-01, 17733252 h = 7 * 2533321 + 5:
      // 12:34 is 5 h 34 min past a multiple of 7 hours (counted from 1970 it would be 2 h 34 min).
      '2024-01-01T14:00:00',
      '2024-01-01T07:00:00',
      true,
      true,
      '2024-01-01T12:34:56.789',
      true,
      false,
    ]);
  });

  it('compare with methods and operators', async () => {
    expect(
      await value(`local a = time.date(2024, 1, 1, 0, 0, 0, 0, time.utc)
        local b = time.date(2024, 1, 2, 0, 0, 0, 0, time.utc)
        local a2 = a:in_location(time.fixed_zone("X", 3600))
        return { a:before(b), b:after(a), a:equal(a2), a == a2, a < b, b <= a, a:equal(b) }`),
    ).toEqual([true, true, true, true, true, false, false]);
  });

  it('a Time crosses processes as a msgpack timestamp: TypeScript reads a Date of that instant', async () => {
    const result = await value(
      'return { at = time.date(2024, 1, 2, 3, 4, 5, 123456789, time.fixed_zone("X", 3600)) }',
    );
    expect(result).toEqual({ at: new Date('2024-01-02T02:04:05.123Z') });
  });

  it('a Time method given something else raises, naming what it expected', async () => {
    const exit = await run(`time.now():sub(5)`);
    expect(exit.ok).toBe(false);
    expect(JSON.stringify(exit)).toContain('expected a Time, got number');
  });
});

describe('durations, constants and timers as Wippy has them', () => {
  it("parse_duration takes text, nanoseconds or a Duration; the layout and calendar constants are Go's", async () => {
    expect(
      await value(`local d = assert(time.parse_duration(time.SECOND))
        return { d:seconds(), time.parse_duration(d) == d, tostring(time.parse_duration(90 * time.MINUTE)),
          time.RFC3339, time.DATE_TIME, time.JANUARY, time.DECEMBER, time.SUNDAY, time.SATURDAY }`),
    ).toEqual([
      1,
      true,
      '1h30m0s',
      '2006-01-02T15:04:05Z07:00',
      '2006-01-02 15:04:05',
      1,
      12,
      0,
      6,
    ]);
  });

  it('timer and ticker answer nil, INVALID for a duration that is not positive', async () => {
    expect(
      await value(`local tm, e1 = time.timer(0)
        local tk, e2 = time.ticker("-1s")
        return { tm == nil, e1:kind() == errors.INVALID, tk == nil, e2:kind() == errors.INVALID, e2:message() }`),
    ).toEqual([true, true, true, true, 'time: ticker needs a positive duration, got -1s']);
  });

  it('response() is the channel of a timer and of a ticker, usable in channel.select', async () => {
    const clock = new ManualClock();
    h = await VmHarness.create({ clock });
    const group = h.start(
      h.prepare(
        `local time = require("time")
         return { main = function()
           local started = time.now():unix_nano() // 1000000
           local tm = time.timer("50ms")
           local tk = time.ticker("20ms")
           local same = tm:response() == tm:channel() and tk:response() == tk:channel()
           local r = channel.select{ tm:response():case_receive(), tk:response():case_receive() }
           local first = r.channel == tk:response() and "ticker" or "timer"
           local stopped = tk:stop()
           local fired = tm:response():receive()
           return { same, first, stopped, fired:sub(time.unix(0)):milliseconds() - started }
         end }`,
        { modules: ['time'] },
      ),
      new Uint8Array([0x90]),
    );
    for (let i = 0; i < 6; i++) {
      h.vm.drain();
      clock.advance(10);
    }
    h.vm.drain();
    expect(h.exitOf(group)).toEqual({ ok: true, value: [true, 'ticker', true, 50] });
  });
});

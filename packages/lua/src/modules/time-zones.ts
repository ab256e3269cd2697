import type { HostFunction } from '../vm/host-function.js';

/** Where a zone stands at one instant: seconds east of UTC and its abbreviation ("EST"). */
export interface ZoneOffset {
  readonly offset: number;
  readonly abbreviation: string;
}

/**
 * IANA time zones read through Intl (the zone data Node ships with). Formatters are costly to
 * create, so each zone's is kept; a cache per instance, not per process of the node.
 */
export class TimeZones {
  private readonly formatters = new Map<string, Intl.DateTimeFormat>();
  /** Each zone's last answer: reading several fields of one Time asks for the same second. */
  private readonly lastAnswers = new Map<string, { second: number; answer: ZoneOffset }>();

  /**
   * Whether `name` is a zone Intl knows ("America/New_York", or an alias like "US/Eastern").
   * Intl ignores letter case; Go's zone files do not, so "america/new_york" is no zone here.
   */
  has(name: string): boolean {
    if (name === '') return false;
    try {
      const resolved = this.formatter('en-US', name).resolvedOptions().timeZone;
      return resolved === name || resolved.toLowerCase() !== name.toLowerCase();
    } catch {
      return false;
    }
  }

  /** The offset and abbreviation of zone `name` at `unixSeconds`. */
  at(name: string, unixSeconds: number): ZoneOffset {
    const last = this.lastAnswers.get(name);
    if (last?.second === unixSeconds) return last.answer;
    const answer = this.lookUp(name, unixSeconds);
    this.lastAnswers.set(name, { second: unixSeconds, answer });
    return answer;
  }

  private lookUp(name: string, unixSeconds: number): ZoneOffset {
    const ms = Math.max(-8.64e15, Math.min(8.64e15, unixSeconds * 1000));
    const parts = this.formatter('en-US', name).formatToParts(ms);
    const part = (type: string) => Number(parts.find((p) => p.type === type)?.value ?? 0);
    const bc = parts.find((p) => p.type === 'era')?.value === 'BC';
    const wall = new Date(0);
    wall.setUTCFullYear(bc ? 1 - part('year') : part('year'), part('month') - 1, part('day'));
    wall.setUTCHours(part('hour'), part('minute'), part('second'), 0);
    const offset = Math.round((wall.getTime() - ms) / 1000);
    return { offset, abbreviation: this.abbreviation(name, ms, offset, parts) };
  }

  /**
   * A short name like Go's: en-US names American zones ("EST"), en-GB European ones ("CET");
   * a zone neither names gets tzdata's numeric form ("+09", "+0530").
   */
  private abbreviation(
    name: string,
    ms: number,
    offset: number,
    usParts: Intl.DateTimeFormatPart[],
  ): string {
    if (name === 'UTC' || name === 'Etc/UTC') return 'UTC';
    const named = (parts: Intl.DateTimeFormatPart[]) => {
      const text = parts.find((p) => p.type === 'timeZoneName')?.value ?? '';
      return /^[A-Z]{3,5}$/.test(text) ? text : undefined;
    };
    const found = named(usParts) ?? named(this.formatter('en-GB', name).formatToParts(ms));
    if (found !== undefined) return found === 'GMT' && offset !== 0 ? numeric(offset) : found;
    return numeric(offset);
  }

  private formatter(locale: string, name: string): Intl.DateTimeFormat {
    const key = `${locale} ${name}`;
    let formatter = this.formatters.get(key);
    if (formatter === undefined) {
      formatter = new Intl.DateTimeFormat(locale, {
        timeZone: name,
        hourCycle: 'h23',
        era: 'short',
        year: 'numeric',
        month: 'numeric',
        day: 'numeric',
        hour: 'numeric',
        minute: 'numeric',
        second: 'numeric',
        timeZoneName: 'short',
      });
      this.formatters.set(key, formatter);
    }
    return formatter;
  }
}

function numeric(offset: number): string {
  const sign = offset < 0 ? '-' : '+';
  const minutes = Math.floor(Math.abs(offset) / 60);
  const hh = String(Math.floor(minutes / 60)).padStart(2, '0');
  const mm = minutes % 60;
  return mm === 0 ? `${sign}${hh}` : `${sign}${hh}${String(mm).padStart(2, '0')}`;
}

/**
 * The node's own zone: TZ when Intl knows it, else the system's as Intl reports it (none when TZ
 * names no zone), else UTC.
 */
export function nodeZone(): string {
  const fromEnv = process.env.TZ;
  if (fromEnv !== undefined && fromEnv !== '' && new TimeZones().has(fromEnv)) return fromEnv;
  return Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC';
}

/**
 * The host functions of the `time` module that read zones (its objects are the kernel's
 * userdata, rt.new_userdata); shared by processes and workflows. `localZone` is the zone
 * `time.localtz` names (workflows give UTC, so a replay on another node reads the same).
 */
export function timeValueFunctions(localZone: string): Record<string, HostFunction> {
  const zones = new TimeZones();
  return {
    /** zone_exists(name) -> boolean */
    zone_exists(L, vm) {
      vm.stack.pushBoolean(L, zones.has(vm.stack.text(L, 1) ?? ''));
      return 1;
    },
    /** zone_at(name, unix_seconds) -> offset_seconds, abbreviation */
    zone_at(L, vm) {
      const at = zones.at(vm.stack.text(L, 1) ?? 'UTC', vm.stack.integer(L, 2));
      vm.stack.pushInteger(L, at.offset);
      vm.stack.pushString(L, at.abbreviation);
      return 2;
    },
    local_zone(L, vm) {
      vm.stack.pushString(L, localZone);
      return 1;
    },
  };
}

/** The zone of a shop that names none: figures and printouts exactly as before time zones. */
export const UTC = 'UTC';

/** Whether `zone` is an IANA time zone this runtime knows (`Europe/Paris`, `UTC`). */
export function isTimeZone(zone: string): boolean {
  if (zone.trim() === '' || zone !== zone.trim()) return false;
  try {
    new Intl.DateTimeFormat('en', { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}

interface LocalParts {
  date: string;
  time: string;
  seconds: string;
  /** `+11:00`, `-07:00`, `+00:00`. */
  offset: string;
}

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatterOf(zone: string): Intl.DateTimeFormat {
  let f = formatters.get(zone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone: zone,
      hourCycle: 'h23',
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
      timeZoneName: 'longOffset',
    });
    formatters.set(zone, f);
  }
  return f;
}

function localParts(zone: string, ms: number): LocalParts {
  const p: Record<string, string> = {};
  for (const part of formatterOf(zone).formatToParts(ms)) p[part.type] = part.value;
  // longOffset: "GMT+11:00", or "GMT" for an offset of zero.
  const offset = p.timeZoneName === 'GMT' ? '+00:00' : p.timeZoneName.slice(3);
  return { date: `${p.year.padStart(4, '0')}-${p.month}-${p.day}`, time: `${p.hour}:${p.minute}`, seconds: p.second, offset };
}

const msOf = (at: string | Date) => (typeof at === 'string' ? Date.parse(at) : at.getTime());

/**
 * A shop's time zone: the calendar its stats are kept in and the clock its printouts and status
 * page show. Changed in place (PATCH /api/shops/{shop}); UTC takes the fast path of plain ISO
 * strings, so a shop without a zone dates and prints exactly as before.
 */
export class ShopTimeZone {
  private zone = UTC;
  /** Local dates by quarter hour since 1970 (every offset in use is a whole number of quarter hours). */
  private readonly dates = new Map<number, string>();

  constructor(zone?: string) {
    this.set(zone);
  }

  get name(): string {
    return this.zone;
  }

  set(zone: string | undefined): void {
    const canonical = zone === undefined ? UTC : new Intl.DateTimeFormat('en', { timeZone: zone }).resolvedOptions().timeZone;
    this.zone = canonical === 'Etc/UTC' ? UTC : canonical;
    this.dates.clear();
  }

  /** The local calendar date (YYYY-MM-DD) of an instant (an ISO time or a Date). */
  dateOf(at: string | Date): string {
    if (this.zone === UTC) return typeof at === 'string' ? at.slice(0, 10) : at.toISOString().slice(0, 10);
    const ms = msOf(at);
    if (Number.isNaN(ms)) return String(at).slice(0, 10);
    const quarter = Math.floor(ms / 900_000);
    let date = this.dates.get(quarter);
    if (date === undefined) {
      date = localParts(this.zone, ms).date;
      if (this.dates.size >= 4096) this.dates.clear();
      this.dates.set(quarter, date);
    }
    return date;
  }

  /** Whether the instant is the first one of its local date (a day boundary in this zone). */
  startsDay(at: Date): boolean {
    return this.dateOf(at) !== this.dateOf(new Date(at.getTime() - 1));
  }

  /** `2026-11-23 08:05 UTC`, or `2026-11-23 19:05 +11:00` in another zone (printouts). */
  short(at: string | Date): string {
    const ms = msOf(at);
    if (Number.isNaN(ms)) return String(at);
    if (this.zone === UTC) {
      const iso = new Date(ms).toISOString();
      return `${iso.slice(0, 10)} ${iso.slice(11, 16)} UTC`;
    }
    const p = localParts(this.zone, ms);
    return `${p.date} ${p.time} ${p.offset}`;
  }

  /** The local time with its offset: `14:03:09 +11:00` on `now`'s local date, else `2026-11-22 14:03 +11:00`. */
  clock(at: Date, now: Date): string {
    if (this.zone === UTC) {
      const iso = at.toISOString();
      const time = iso.slice(11, 16);
      return iso.slice(0, 10) === now.toISOString().slice(0, 10) ? `${time}:${iso.slice(17, 19)} UTC` : `${iso.slice(0, 10)} ${time} UTC`;
    }
    const p = localParts(this.zone, at.getTime());
    return p.date === localParts(this.zone, now.getTime()).date ? `${p.time}:${p.seconds} ${p.offset}` : `${p.date} ${p.time} ${p.offset}`;
  }
}

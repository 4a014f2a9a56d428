/** Instants and durations as the policy document writes them. Pure: never reads the clock. */

const DATE = /^(\d{4})-(\d{2})-(\d{2})$/;
const DATETIME = /^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/;

/**
 * Parses `YYYY-MM-DD` (00:00 UTC that day) or an RFC 3339 datetime with offset to epoch
 * milliseconds; returns undefined for anything else, including impossible dates (2026-02-30).
 */
export function parseInstant(text: string): number | undefined {
  const d = DATE.exec(text);
  if (d) {
    const ms = Date.UTC(Number(d[1]), Number(d[2]) - 1, Number(d[3]));
    return new Date(ms).toISOString().slice(0, 10) === text ? ms : undefined;
  }
  const t = DATETIME.exec(text);
  if (!t) return undefined;
  const [, y, mo, da, h, mi, s] = t.map(Number) as number[];
  if (mo! < 1 || mo! > 12 || h! > 23 || mi! > 59 || s! > 60) return undefined;
  if (new Date(Date.UTC(y!, mo! - 1, da!)).getUTCDate() !== da) return undefined;
  const ms = Date.parse(text.replace(" ", "T"));
  return Number.isNaN(ms) ? undefined : ms;
}

export function formatInstant(ms: number): string {
  return new Date(ms).toISOString();
}

/** `2026-06-12` when the instant is midnight UTC, the full ISO form otherwise. */
export function formatInstantShort(ms: number): string {
  const iso = new Date(ms).toISOString();
  return iso.endsWith("T00:00:00.000Z") ? iso.slice(0, 10) : iso;
}

const DURATION =
  /^P(?!$)(?:(\d+)Y)?(?:(\d+)M)?(?:(\d+)W)?(?:(\d+)D)?(?:T(?=\d)(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)S)?)?$/;

export interface Duration {
  years: number;
  months: number;
  weeks: number;
  days: number;
  hours: number;
  minutes: number;
  seconds: number;
}

export function parseDuration(text: string): Duration | undefined {
  const m = DURATION.exec(text);
  if (!m) return undefined;
  const n = (i: number) => Number(m[i] ?? 0);
  return { years: n(1), months: n(2), weeks: n(3), days: n(4), hours: n(5), minutes: n(6), seconds: n(7) };
}

/** The instant `duration` before `ms`, with years and months in UTC calendar arithmetic. */
export function subtractDuration(ms: number, d: Duration): number {
  const date = new Date(ms);
  date.setUTCFullYear(date.getUTCFullYear() - d.years, date.getUTCMonth() - d.months);
  return (
    date.getTime() - (((d.weeks * 7 + d.days) * 24 + d.hours) * 60 + d.minutes) * 60_000 - d.seconds * 1000
  );
}

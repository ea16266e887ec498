/**
 * Small, locale-independent formatters for the dashboard, so that what it shows is the
 * same on every machine (and in screenshots and tests).
 */

const SECOND = 1000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

/** A duration: `850 ms`, `1.2 s`, `2 min 5 s`, `3 h 10 min`, `2 d 4 h`. */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms)) return '—';
  const abs = Math.max(0, ms);
  if (abs < SECOND) return `${Math.round(abs)} ms`;
  if (abs < 10 * SECOND) return `${(Math.floor(abs / 100) / 10).toFixed(1)} s`;
  if (abs < MINUTE) return `${Math.floor(abs / SECOND)} s`;
  if (abs < HOUR) return `${Math.floor(abs / MINUTE)} min ${Math.floor((abs % MINUTE) / SECOND)} s`;
  if (abs < DAY) return `${Math.floor(abs / HOUR)} h ${Math.floor((abs % HOUR) / MINUTE)} min`;
  return `${Math.floor(abs / DAY)} d ${Math.floor((abs % DAY) / HOUR)} h`;
}

/** Time left until `at`, counted in whole seconds so that it ticks like a clock: `in 4 s`, `now`. */
export function formatCountdown(at: number, now: number): string {
  const left = at - now;
  if (left <= 0) return 'now';
  const seconds = Math.ceil(left / SECOND);
  return `in ${seconds < 60 ? `${seconds} s` : formatDuration(seconds * SECOND)}`;
}

/** Formatters by time zone (`''`: the viewer's): made once, since making one is slow. */
const clockFormats = new Map<string, Intl.DateTimeFormat>();

/**
 * Wall-clock time of an epoch-ms instant with its zone, `HH:MM:SS UTC` or `HH:MM:SS GMT+2`:
 * in the viewer's time zone, or in `timeZone` (an IANA name) when given. A time without its
 * zone is ambiguous as soon as the viewer and the servers are in different places.
 */
export function formatClock(at: number, timeZone?: string): string {
  let format = clockFormats.get(timeZone ?? '');
  if (format === undefined) {
    try {
      format = new Intl.DateTimeFormat('en-GB', {
        hour: '2-digit', minute: '2-digit', second: '2-digit', hourCycle: 'h23', timeZoneName: 'short',
        ...(timeZone === undefined ? {} : { timeZone }),
      });
    } catch {
      // An unknown zone name: say the time in the viewer's zone rather than nothing.
      return formatClock(at);
    }
    clockFormats.set(timeZone ?? '', format);
  }
  const parts = format.formatToParts(new Date(at));
  const part = (type: Intl.DateTimeFormatPartTypes) => parts.find((candidate) => candidate.type === type)?.value ?? '';
  return `${part('hour')}:${part('minute')}:${part('second')} ${part('timeZoneName')}`;
}

let dayFormat: Intl.DateTimeFormat | undefined;

/** The viewer's calendar day of an instant, `2024-05-03`. */
function formatDay(at: number): string {
  dayFormat ??= new Intl.DateTimeFormat('en-GB', { year: 'numeric', month: '2-digit', day: '2-digit' });
  const parts = dayFormat.formatToParts(new Date(at));
  const part = (type: Intl.DateTimeFormatPartTypes) => parts.find((candidate) => candidate.type === type)?.value ?? '';
  return `${part('year')}-${part('month')}-${part('day')}`;
}

/**
 * An instant in the viewer's zone with the zone, as `formatClock` says it, preceded by the
 * day when that is not today (`now`'s day): `06:17:05 UTC`, `2024-05-03 06:17:05 UTC`.
 */
export function formatInstant(at: number, now: number): string {
  const day = formatDay(at);
  return day === formatDay(now) ? formatClock(at) : `${day} ${formatClock(at)}`;
}

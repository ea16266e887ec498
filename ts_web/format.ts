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

/** Wall-clock time of an epoch-ms instant, `HH:MM:SS` in the viewer's time zone. */
export function formatClock(at: number): string {
  const date = new Date(at);
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())}`;
}

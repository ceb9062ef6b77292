import { terminalSafe } from './terminal-text.js';

/**
 * Times (the server's answers' UTC ISO, a saved peer's) as the CLI prints them for
 * people: the time of day in the terminal's time zone on a 24-hour clock, and how far off it is.
 * Written out by hand rather than with `toLocaleTimeString`, whose shape follows the terminal's
 * locale ("07:15 PM" here, "19:15" there): every command's text output (`session`, `join`,
 * `grant`, `peers list`) prints the same shape whatever the locale; `--json` keeps ISO.
 */

const pad = (n: number): string => String(n).padStart(2, '0');

/** How far `ms` is from now, in words: "in 9 min", "3 min ago", "in 2 h 5 min". */
export function distanceWords(ms: number): string {
  const seconds = Math.round(Math.abs(ms) / 1000);
  const minutes = Math.round(seconds / 60);
  const words = seconds < 60 ? `${seconds} s`
    : minutes < 90 ? `${minutes} min`
      : minutes < 48 * 60 ? `${Math.floor(minutes / 60)} h${minutes % 60 ? ` ${minutes % 60} min` : ''}`
        : `${Math.round(minutes / 1440)} days`;
  return ms >= 0 ? `in ${words}` : `${words} ago`;
}

/**
 * A time of the server's answers (UTC ISO) for a person: the time of day in the terminal's time
 * zone, with the date when it is not today, and how far off it is: "18:26:09 (in 9 min)".
 * The ISO text is printed as is (terminal-safe) when it is no time (it came from the server).
 */
export function whenWords(iso: string, now = Date.now()): string {
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return terminalSafe(iso);
  const today = new Date(now);
  const sameDay = date.getFullYear() === today.getFullYear() && date.getMonth() === today.getMonth() && date.getDate() === today.getDate();
  const day = sameDay ? '' : `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())} `;
  return `${day}${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())} (${distanceWords(date.getTime() - now)})`;
}

/**
 * `whenWords` of a time a channel event carries (any JSON value): `fallback` when it is no time,
 * since an event's field may be missing and the sentence around it must still read.
 */
export function eventWhenWords(value: unknown, fallback: string, now = Date.now()): string {
  return typeof value === 'string' && !Number.isNaN(new Date(value).getTime()) ? whenWords(value, now) : fallback;
}

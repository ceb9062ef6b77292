import { Writable } from 'node:stream';

/** A log entry as pino writes it: its level (30 info, 40 warn...) and message, with whatever else it bound. */
export interface LogEntry {
  level: number;
  msg: string;
  [key: string]: unknown;
}

/**
 * A stream to hand `startServer` as its log, and the entries written to it, parsed (pino writes
 * one JSON object per line).
 */
export function logCollector(): { stream: Writable; entries: LogEntry[]; messages: () => string[] } {
  const entries: LogEntry[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString('utf8').split('\n').filter(Boolean)) entries.push(JSON.parse(line) as LogEntry);
      done();
    },
  });
  return { stream, entries, messages: () => entries.map((entry) => entry.msg) };
}

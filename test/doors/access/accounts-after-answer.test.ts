import { Writable } from 'node:stream';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { AfterAnswer } from '../../../src/doors/accounts/after-answer.js';

/** A real pino logger whose lines the test reads. */
function capturedLogger(): { logger: pino.Logger; lines: string[] } {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk, _encoding, done) {
      lines.push(String(chunk));
      done();
    },
  });
  return { logger: pino({ level: 'info' }, stream), lines };
}

describe('work after an answer', () => {
  it('runs jobs one at a time, in order; a failing job is logged without its data and does not stop the next', async () => {
    const { logger, lines } = capturedLogger();
    const work = new AfterAnswer(logger);
    const events: string[] = [];
    // Were they run together, a's end would come after b's start.
    const job = (name: string) => async () => {
      events.push(`${name} start`);
      await new Promise((resolve) => setImmediate(resolve));
      events.push(`${name} end`);
    };
    work.enqueue(job('a'));
    work.enqueue(async () => { throw new Error('store down'); });
    work.enqueue(job('b'));
    expect(work.queued).toBe(3);
    await work.idle();
    expect(events).toEqual(['a start', 'a end', 'b start', 'b end']);
    expect(work.queued).toBe(0);
    expect(lines.join('')).toContain('work after an answer failed');
    expect(lines.join('')).toContain('store down');
  });

  it('drops jobs beyond its bound, and every job once closing; idle waits for tracked tails', async () => {
    const { logger, lines } = capturedLogger();
    const work = new AfterAnswer(logger, 2);
    let release!: () => void;
    const held = new Promise<void>((resolve) => { release = resolve; });
    let ran = 0;
    expect(work.enqueue(() => held)).toBe(true);
    expect(work.enqueue(async () => { ran++; })).toBe(true);
    expect(work.enqueue(async () => { ran++; })).toBe(false);
    expect(lines.join('')).toContain('work after an answer dropped');

    let tailDone = false;
    let endTail!: () => void;
    work.track(new Promise<void>((resolve) => { endTail = resolve; }).then(() => { tailDone = true; }));
    release();
    const idle = work.idle();
    await new Promise((resolve) => setImmediate(resolve));
    expect(ran).toBe(1);
    endTail();
    await idle;
    expect(tailDone).toBe(true);

    await work.close(1000);
    expect(work.enqueue(async () => { ran++; })).toBe(false);
    expect(ran).toBe(1);
  });

  it('closing gives up on work that does not end within the grace (a mail server that never answers)', async () => {
    const { logger, lines } = capturedLogger();
    const work = new AfterAnswer(logger);
    work.track(new Promise(() => undefined));
    await work.close(0);
    expect(lines.join('')).toContain('work after answers left unfinished at shutdown');
  });
});

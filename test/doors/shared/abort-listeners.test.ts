import { getEventListeners } from 'node:events';
import { describe, expect, it } from 'vitest';
import { onAbort } from '../../../src/doors/shared/abort-listeners.js';

/**
 * The server's shutdown signal has one listener however many waits listen through `onAbort`: an
 * EventTarget looks through all it holds on every add, and each open wait made the next slower.
 */
describe('onAbort', () => {
  it('calls every listener once at the abort, except those that stopped, through one listener on the signal', () => {
    const controller = new AbortController();
    const called: number[] = [];
    const stops = Array.from({ length: 1_000 }, (_, i) => onAbort(controller.signal, () => called.push(i)));
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(1);
    stops[3]!();
    stops[999]!();
    controller.abort();
    controller.abort();
    expect(called).toHaveLength(998);
    expect(new Set(called).size).toBe(998);
    expect(called).not.toContain(3);
    expect(called).not.toContain(999);
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0);
  });

  it('counts the same function added twice as two listeners', () => {
    const controller = new AbortController();
    let calls = 0;
    const listener = (): void => {
      calls++;
    };
    onAbort(controller.signal, listener);
    const stopSecond = onAbort(controller.signal, listener);
    stopSecond();
    onAbort(controller.signal, listener);
    controller.abort();
    expect(calls).toBe(2);
  });

  it('calls the listeners after one that throws', () => {
    const controller = new AbortController();
    const called: string[] = [];
    onAbort(controller.signal, () => called.push('a'));
    onAbort(controller.signal, () => {
      throw new Error('a listener that fails');
    });
    onAbort(controller.signal, () => called.push('c'));
    controller.abort();
    expect(called).toEqual(['a', 'c']);
  });

  it('calls a listener added after the abort at once', () => {
    const controller = new AbortController();
    controller.abort();
    let called = false;
    const stop = onAbort(controller.signal, () => {
      called = true;
    });
    expect(called).toBe(true);
    stop();
  });
});

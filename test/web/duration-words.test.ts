import { describe, expect, it } from 'vitest';
import { lifetimeWords, roundLifetime, roundWait, spanWords, waitWords } from '../../src/web/duration-words.js';

describe('durations in words', () => {
  it('a wait is rounded up: seconds under a minute, then whole minutes; one unit takes its article', () => {
    expect(waitWords(0, 'en')).toBe('a second');
    expect(waitWords(1, 'en')).toBe('a second');
    expect(waitWords(0.2, 'en')).toBe('a second');
    expect(waitWords(1.5, 'en')).toBe('2 seconds');
    expect(waitWords(30, 'en')).toBe('30 seconds');
    expect(waitWords(59, 'en')).toBe('59 seconds');
    expect(waitWords(60, 'en')).toBe('a minute');
    expect(waitWords(61, 'en')).toBe('2 minutes');
    expect(waitWords(3600, 'en')).toBe('60 minutes');
  });

  it('a wait in French: Intl\'s plural, the feminine article', () => {
    expect(waitWords(1, 'fr')).toBe('une seconde');
    expect(waitWords(30, 'fr')).toBe('30 secondes');
    expect(waitWords(60, 'fr')).toBe('une minute');
    expect(waitWords(120, 'fr')).toBe('2 minutes');
  });

  it('a wait said in minutes only is at least a minute', () => {
    expect(roundWait(5, 'minute')).toEqual({ count: 1, unit: 'minute' });
    expect(roundWait(60, 'minute')).toEqual({ count: 1, unit: 'minute' });
    expect(roundWait(61, 'minute')).toEqual({ count: 2, unit: 'minute' });
    expect(waitWords(5, 'en', 'minute')).toBe('a minute');
    expect(waitWords(3599, 'fr', 'minute')).toBe('60 minutes');
  });

  it('a lifetime is never said longer than it is: whole minutes, else seconds under ten minutes, then minutes rounded down', () => {
    expect(lifetimeWords(300, 'en')).toBe('5 minutes');
    expect(lifetimeWords(60, 'en')).toBe('1 minute');
    expect(lifetimeWords(30, 'en')).toBe('30 seconds');
    expect(lifetimeWords(1, 'en')).toBe('1 second');
    expect(lifetimeWords(90, 'en')).toBe('90 seconds');
    expect(lifetimeWords(599, 'en')).toBe('599 seconds');
    expect(lifetimeWords(630, 'en')).toBe('10 minutes');
    expect(lifetimeWords(3600, 'en')).toBe('60 minutes');
    expect(roundLifetime(90.9)).toEqual({ count: 90, unit: 'second' });
  });

  it('a lifetime in French', () => {
    expect(lifetimeWords(1, 'fr')).toBe('1 seconde');
    expect(lifetimeWords(30, 'fr')).toBe('30 secondes');
    expect(lifetimeWords(60, 'fr')).toBe('1 minute');
    expect(lifetimeWords(300, 'fr')).toBe('5 minutes');
  });

  it('a long span in its largest unit, rounded, saying whether it is exact', () => {
    expect(spanWords(7200, 'en')).toEqual({ words: '2 hours', exact: true });
    expect(spanWords(86_400, 'fr')).toEqual({ words: '1 jour', exact: true });
    expect(spanWords(90_000, 'en')).toEqual({ words: '1 day', exact: false });
    expect(spanWords(3 * 86_400, 'fr')).toEqual({ words: '3 jours', exact: true });
    expect(spanWords(30, 'en')).toEqual({ words: '1 minute', exact: false });
    expect(spanWords(5400, 'en')).toEqual({ words: '2 hours', exact: false });
  });
});

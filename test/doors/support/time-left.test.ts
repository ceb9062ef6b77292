import { describe, expect, it } from 'vitest';
import { timeLeft } from '../../../src/doors/support/support-i18n.js';

describe('timeLeft: how long a code has left, as the confirmation page says it', () => {
  it('in whole minutes, never more than is left', () => {
    expect(timeLeft(600_000)).toBe('in 10 minutes');
    expect(timeLeft(599_999)).toBe('in 9 minutes');
    expect(timeLeft(119_000)).toBe('in 1 minute');
    expect(timeLeft(59_999)).toBe('in less than a minute');
    expect(timeLeft(0)).toBe('in less than a minute');
  });

  it('in French on a French page', () => {
    expect(timeLeft(600_000, 'fr')).toBe('dans 10 minutes');
    expect(timeLeft(119_000, 'fr')).toBe('dans 1 minute');
    expect(timeLeft(59_999, 'fr')).toBe('dans moins d’une minute');
  });
});

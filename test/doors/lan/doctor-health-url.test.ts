import { describe, expect, it } from 'vitest';
import { healthzUrlOf } from '../../../src/doors/lan/doctor.js';

/** Where `doctor --server` checks a server's health. */
describe('doctor: the server\'s health URL', () => {
  it('is /healthz under the path given, whatever slashes end it', () => {
    expect(healthzUrlOf('https://pairgate.example')).toBe('https://pairgate.example/healthz');
    expect(healthzUrlOf('https://pairgate.example///')).toBe('https://pairgate.example/healthz');
    expect(healthzUrlOf('http://127.0.0.1:43121/pairgate/')).toBe('http://127.0.0.1:43121/pairgate/healthz');
  });

  it('drops a query and a fragment rather than putting /healthz inside them', () => {
    expect(healthzUrlOf('https://pairgate.example/?x=y')).toBe('https://pairgate.example/healthz');
    expect(healthzUrlOf('https://pairgate.example/base?x=y#top')).toBe('https://pairgate.example/base/healthz');
  });
});

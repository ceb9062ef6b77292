import { describe, expect, it } from 'vitest';
import { remoteError } from '../../../src/doors/lan/frames.js';
import { WrongSecretError } from '../../../src/doors/lan/lan-errors.js';

/**
 * What the other device says in an error is shown to a person on a terminal: before the pin is
 * proven that device may be anyone on the network, so its words must not steer the terminal
 * (escape sequences) nor reorder the line (bidirectional overrides).
 */
describe('text another device sends, shown on a terminal', () => {
  it('a remote refusal keeps its words and loses escape sequences and bidirectional controls', () => {
    // A refusal passed on in the other device's words (a wrong code is said in this side's own words since 7032667).
    const error = remoteError({ t: 'error', code: 'lan_wrong_secret', message: 'wrong secret \u001b[2J\u202etxt.exe\u2066 \u200f end' } as never);
    expect(error).toBeInstanceOf(WrongSecretError);
    expect(error.message).toContain('wrong secret');
    expect(error.message).toContain('txt.exe');
    for (const unsafe of ["\u001b", "\u202e", "\u2066", "\u200f"]) expect(error.message).not.toContain(unsafe);
  });

  it('a long one is cut', () => {
    expect(remoteError({ t: 'error', code: 'lan_wrong_code', message: 'x'.repeat(5_000) } as never).message.length).toBeLessThan(400);
  });
});

import type { Clock } from '../../core/clock.js';
import type { GrantEngine } from '../../engine/grant-engine.js';
import type { EphemeralStore } from '../../store/ports.js';
import { PAIRING_KIND, relayCodeFormat } from './relay-code.js';

/** What was decided on a pairing code that no longer works. */
export type SpentHow = 'confirmed' | 'declined' | 'burned';

/**
 * Notes of pairing codes that were decided on, for the rest of their lifetime. A decision spends a
 * code (its grant loses its code hash), so a look-up of it afterwards finds nothing, the same as a
 * mistyped code. A person who confirmed and then presses Back, or posts the form again, would then
 * be told to ask for a new code while their session is live one page further: the note lets the
 * page say what happened instead. It is keyed by the code's hash and says only how it was decided,
 * which anyone holding the code learnt at the time; a spent code opens nothing.
 */
export class SpentCodes {
  constructor(
    private readonly ephemeral: EphemeralStore,
    private readonly clock: Clock,
    /** Hashes the code under the server's code key, as the grant's own code hash. */
    private readonly codes: Pick<GrantEngine, 'codeHash'>,
  ) {}

  private key(canonicalCode: string): string {
    return `support:spent|${this.codes.codeHash(PAIRING_KIND, canonicalCode)}`;
  }

  /** Notes that `canonicalCode` was decided `how`, until `expiresAt` (the code's own expiry). */
  async remember(canonicalCode: string, how: SpentHow, expiresAt: number): Promise<void> {
    const now = this.clock.now();
    await this.ephemeral.set(this.key(canonicalCode), how, Math.max(1_000, expiresAt - now), now);
  }

  /** How the typed code was decided, if it was and still would be live; undefined otherwise. */
  async how(typed: string): Promise<SpentHow | undefined> {
    const parsed = relayCodeFormat.parse(typed);
    if (!parsed.ok) return undefined;
    const how = await this.ephemeral.get(this.key(parsed.code), this.clock.now());
    return how === 'confirmed' || how === 'declined' || how === 'burned' ? how : undefined;
  }
}

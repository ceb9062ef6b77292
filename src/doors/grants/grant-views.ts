import type { Grant } from '../../core/grant.js';
import { isoTime } from '../../core/iso-time.js';

/** What a generic grant asks. */
export interface PairRequest {
  label: string;
  data: Record<string, string>;
}

/** What deciding a generic grant produced. */
export interface PairResult {
  decidedBy: string;
  note: string | null;
}

/** The kind of generic grants. */
export const PAIR_KIND = 'pair';

/** A grant as its creator sees it (never the code hash, secret hash or result). */
export function grantView(grant: Grant<PairRequest, PairResult>, state: string) {
  return {
    id: grant.id,
    kind: grant.kind,
    state,
    version: grant.version,
    label: grant.request.label,
    data: grant.request.data,
    createdAt: isoTime(grant.createdAt),
    expiresAt: isoTime(grant.expiresAt),
  };
}

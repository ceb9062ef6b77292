import type { Grant, GrantState } from '../core/grant.js';

/** The `grants` table row, shared by the SQL adapters. */
export interface GrantRow {
  id: string;
  kind: string;
  state: string;
  code_hash: string | null;
  secret_hash: string | null;
  request: string;
  result: string | null;
  attempts: number;
  version: number;
  created_at: number | string;
  updated_at: number | string;
  expires_at: number | string;
  /** Who created the grant, where its door caps live grants per creator (NewGrant.owner). */
  owner: string | null;
}

/** The `ephemeral` table row. */
export interface EphemeralRow {
  key: string;
  value: string;
  expires_at: number | string;
}

declare module './durable-schema.js' {
  interface Database {
    grants: GrantRow;
    ephemeral: EphemeralRow;
  }
}

/** A row as a grant (bigint columns may come back as strings from PostgreSQL). */
export function rowToGrant<Request, Result>(row: GrantRow): Grant<Request, Result> {
  return {
    id: row.id,
    kind: row.kind,
    state: row.state as GrantState,
    codeHash: row.code_hash,
    secretHash: row.secret_hash,
    request: JSON.parse(row.request) as Request,
    result: row.result === null ? null : (JSON.parse(row.result) as Result),
    attempts: Number(row.attempts),
    version: Number(row.version),
    createdAt: Number(row.created_at),
    updatedAt: Number(row.updated_at),
    expiresAt: Number(row.expires_at),
  };
}

import type { Redis } from 'ioredis';
import type { Grant, GrantPatch, GrantState, NewGrant } from '../../core/grant.js';
import { CodeTakenError, IdTakenError, type GrantStore } from '../ports.js';
import { runScript } from './redis-scripts.js';

/** Most expired grants one sweep removes per kind: keeps each script short, so Redis stays responsive. */
const SWEEP_LIMIT = 1_000;

/**
 * Grants in Redis. Layout under the prefix P:
 * - `P g:<id>`: a hash per grant (request and result as JSON strings, never re-encoded by Lua),
 *   expiring with the grant (PX);
 * - `P c:<codeHash>`: the id of the grant that holds the code (PX); a secret is checked by id, so
 *   no secret has an index;
 * - `P k:<kind>`: a sorted set of ids by expiry, for live counts and exact expiry counts;
 * - `P p:<kind>`: the same for the grants still pending (a decision takes a grant out), for
 *   `countPending`;
 * - `P kinds`: the kinds that have grants.
 * Writes are Lua scripts (see redis-scripts.ts). Reads compare `expiresAt` with the caller's `now`,
 * like the SQL adapter, rather than trusting the key TTL alone.
 */
export class RedisGrantStore implements GrantStore {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
  ) {}

  private grantKey(id: string): string {
    return `${this.prefix}g:${id}`;
  }

  async create<Request>(grant: NewGrant<Request> & { id: string }, now: number): Promise<Grant<Request>> {
    const expiresAt = now + grant.ttlMs;
    const outcome = await runScript(this.redis, 'create', [this.grantKey(grant.id)], [
      this.prefix,
      grant.id,
      grant.kind,
      grant.codeHash ?? '',
      grant.secretHash ?? '',
      JSON.stringify(grant.request ?? null),
      String(now),
      String(expiresAt),
      String(grant.ttlMs),
    ]);
    if (outcome === 'code') throw new CodeTakenError();
    if (outcome === 'id') throw new IdTakenError();
    return {
      id: grant.id,
      kind: grant.kind,
      state: 'pending',
      codeHash: grant.codeHash ?? null,
      secretHash: grant.secretHash ?? null,
      request: (grant.request ?? null) as Request,
      result: null,
      attempts: 0,
      version: 1,
      createdAt: now,
      updatedAt: now,
      expiresAt,
    };
  }

  async findById<Request, Result>(id: string, now: number): Promise<Grant<Request, Result> | undefined> {
    const fields = await this.redis.hgetall(this.grantKey(id));
    return live(hashToGrant<Request, Result>(fields), now);
  }

  async findByCode<Request, Result>(kind: string, codeHash: string, now: number): Promise<Grant<Request, Result> | undefined> {
    const grant = await this.findByIndex<Request, Result>(`${this.prefix}c:${codeHash}`, now);
    return grant && grant.kind === kind && grant.codeHash === codeHash ? grant : undefined;
  }

  private async findByIndex<Request, Result>(indexKey: string, now: number): Promise<Grant<Request, Result> | undefined> {
    const reply = await runScript(this.redis, 'findByIndex', [indexKey], [this.prefix]);
    return live(hashToGrant<Request, Result>(pairsToObject(reply)), now);
  }

  async update<Request, Result>(
    id: string,
    expectedVersion: number,
    patch: GrantPatch<Request, Result>,
    now: number,
  ): Promise<Grant<Request, Result> | undefined> {
    const pairs: string[] = [];
    if (patch.state !== undefined) pairs.push('state', patch.state);
    if (patch.request !== undefined) pairs.push('request', JSON.stringify(patch.request));
    if (patch.result !== undefined && patch.result !== null) pairs.push('result', JSON.stringify(patch.result));
    const codeOp = patch.codeHash === undefined ? '' : patch.codeHash === null ? 'clear' : 'set';
    const reply = await runScript(this.redis, 'update', [this.grantKey(id)], [
      this.prefix,
      id,
      String(expectedVersion),
      String(now),
      patch.expiresAt === undefined ? '' : String(patch.expiresAt),
      codeOp,
      patch.codeHash ?? '',
      patch.result === null ? 'clear' : '',
      ...pairs,
    ]);
    if (reply === 'code') throw new CodeTakenError();
    return live(hashToGrant<Request, Result>(pairsToObject(reply)), now);
  }

  async redeem<Request, Result>(id: string, now: number): Promise<Grant<Request, Result> | undefined> {
    const reply = await runScript(this.redis, 'redeem', [this.grantKey(id)], [this.prefix, id, String(now)]);
    return hashToGrant<Request, Result>(pairsToObject(reply));
  }

  async recordFailedAttempt(id: string, now: number): Promise<number> {
    return Number(await runScript(this.redis, 'failedAttempt', [this.grantKey(id)], [String(now)]));
  }

  async sweepExpired(now: number, onBatch?: (counts: Record<string, number>) => void): Promise<Record<string, number>> {
    const reply = (await runScript(this.redis, 'sweep', [`${this.prefix}kinds`], [this.prefix, String(now), SWEEP_LIMIT])) as (string | number)[];
    const counts: Record<string, number> = {};
    for (let i = 0; i + 1 < reply.length; i += 2) counts[String(reply[i])] = Number(reply[i + 1]);
    // One script, one batch.
    if (reply.length > 0) onBatch?.(counts);
    return counts;
  }

  async countLive(kind: string, now: number): Promise<number> {
    return this.redis.zcount(`${this.prefix}k:${kind}`, `(${now}`, '+inf');
  }

  async countPending(kind: string, now: number): Promise<number> {
    return this.redis.zcount(`${this.prefix}p:${kind}`, `(${now}`, '+inf');
  }

  async delete(id: string): Promise<boolean> {
    return Number(await runScript(this.redis, 'delete', [], [this.prefix, id])) > 0;
  }
}

/** A flat HGETALL reply from a script ([field, value, ...]) as an object; {} for none. */
function pairsToObject(reply: unknown): Record<string, string> {
  const fields: Record<string, string> = {};
  if (!Array.isArray(reply)) return fields;
  for (let i = 0; i + 1 < reply.length; i += 2) fields[String(reply[i])] = String(reply[i + 1]);
  return fields;
}

/** A grant hash as a grant; undefined for an empty (missing) hash. */
function hashToGrant<Request, Result>(fields: Record<string, string>): Grant<Request, Result> | undefined {
  if (fields.id === undefined || fields.expires === undefined) return undefined;
  return {
    id: fields.id,
    kind: fields.kind ?? '',
    state: fields.state as GrantState,
    codeHash: fields.code ?? null,
    secretHash: fields.secret ?? null,
    request: JSON.parse(fields.request ?? 'null') as Request,
    result: fields.result === undefined ? null : (JSON.parse(fields.result) as Result),
    attempts: Number(fields.attempts ?? 0),
    version: Number(fields.version),
    createdAt: Number(fields.created),
    updatedAt: Number(fields.updated),
    expiresAt: Number(fields.expires),
  };
}

function live<T extends { expiresAt: number }>(grant: T | undefined, now: number): T | undefined {
  return grant && grant.expiresAt > now ? grant : undefined;
}

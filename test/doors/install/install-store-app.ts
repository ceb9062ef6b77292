import { afterAll, beforeAll, expect } from 'vitest';
import { createTestApp, type TestApp } from '../../helpers/app.js';
import { createTestDatabase } from '../../helpers/services.js';
import { INSTALL_ENV, Member } from './install-helpers.js';

/** A registered person with their username (made unique per store). */
export type Person = Member & { username: string };

/** The install-door server of a file's `describe.each` over SQLite and PostgreSQL (see `useInstallStoreApp`). */
export interface InstallStoreApp {
  /** The running server (after `beforeAll`). */
  readonly app: TestApp;
  /** Its URL. */
  readonly base: string;
  /** The PostgreSQL database's URL ('' on SQLite), for a test's own connections. */
  readonly databaseUrl: string;
  /** `sq` or `pg`: what makes names unique per store. */
  readonly suffix: string;
  /** Registers `name`, suffixed with the store's `suffix`, from a network of its own. */
  person(name: string): Promise<Person>;
  /** An organization made by `admin`, with `others` added (as members unless said); its id. */
  organization(admin: Member, name: string, others: Array<[Person, string?]>): Promise<string>;
}

/**
 * Starts, in the `describe` it is called in, an install-door server on `store`: SQLite, or a
 * PostgreSQL database of its own (dropped after). Nothing starts when `skip` says why not. Each
 * person registers from a network of their own (`X-Forwarded-For`, the server trusting the test's
 * proxy address): the account forms, deletion among them, are limited per network. `around` runs
 * before the server starts and after it stops (fake timers, say).
 */
export function useInstallStoreApp(store: 'SQLite' | 'PostgreSQL', skip: string | undefined, around: { before?: () => void; after?: () => void } = {}): InstallStoreApp {
  let app: TestApp | undefined;
  let base = '';
  let databaseUrl = '';
  let drop: (() => Promise<void>) | undefined;
  let nextNetwork = 1;
  const suffix = store === 'SQLite' ? 'sq' : 'pg';
  beforeAll(async () => {
    if (skip) return;
    around.before?.();
    let env: Record<string, string> = { ...INSTALL_ENV, PAIRGATE_TRUST_PROXY: '127.0.0.1' };
    if (store === 'PostgreSQL') {
      const database = await createTestDatabase();
      drop = () => database.drop();
      databaseUrl = database.url;
      env = { ...env, PAIRGATE_DATABASE_URL: database.url };
    }
    app = await createTestApp(env, {});
    base = await app.listen();
  });
  afterAll(async () => {
    await app?.close();
    around.after?.();
    await drop?.();
  });
  return {
    get app() {
      return app!;
    },
    get base() {
      return base;
    },
    get databaseUrl() {
      return databaseUrl;
    },
    suffix,
    async person(name) {
      const network = nextNetwork++;
      const member = new Member(base, { 'x-forwarded-for': `10.7.${Math.floor(network / 250)}.${(network % 250) + 1}` });
      const username = `${name}-${suffix}`;
      await member.register(username);
      return Object.assign(member, { username });
    },
    async organization(admin, name, others) {
      const orgId = await admin.createOrg(name);
      for (const [other, role] of others) expect((await admin.addMember(orgId, other.username, role ?? 'member')).status).toBe(201);
      return orgId;
    },
  };
}

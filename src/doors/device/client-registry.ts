import { ConflictError, NotFoundError } from '../../core/errors.js';
import { randomId } from '../../core/ids.js';
import type { DurableDb } from '../../store/durable-schema.js';
import { isClientId } from './client-rules.js';
import { unknownClient, type DeviceClient, type DeviceClients } from './clients.js';
import type { DeviceTokens } from './device-tokens.js';
import type { DeviceClientRow } from './device-rows.js';
import './device-rows.js';

/** A registered client as the admin API shows it (times only for stored ones). */
export interface RegisteredClient extends DeviceClient {
  createdAt?: number;
  updatedAt?: number;
}

/** What the admin API may set on a client. */
export interface ClientRegistration {
  name: string;
  /** Undefined: any scope. */
  scopes?: readonly string[] | undefined;
}

function clientOfRow(row: DeviceClientRow): RegisteredClient {
  return {
    id: row.client_id,
    name: row.name,
    scopes: row.scopes === null ? undefined : row.scopes.split(' ').filter(Boolean),
    source: 'api',
    registration: row.registration_id,
    createdAt: Number(row.created_at),
    updatedAt: Number(row.updated_at),
  };
}

const inConfig = (clientId: string): ConflictError =>
  new ConflictError(`The client "${clientId}" is registered in PAIRGATE_DEVICE_CLIENTS: change or remove it there (and restart), not through the API.`, 'device_client_in_config');

const notFound = (clientId: string): NotFoundError => new NotFoundError(`No device client "${clientId}" is registered.`, 'device_client_not_found');

/** Rounds of insert-or-update before a PUT gives up on a client that keeps being deleted and re-created. */
const PUT_ROUNDS = 5;

/**
 * The device door's clients: those of PAIRGATE_DEVICE_CLIENTS (read-only, held in memory) and those
 * registered through the admin API (the `device_clients` table). Stored clients are read from the
 * database on every look-up, never cached, so a client created, changed or deleted on one node is
 * seen by every node at its next request. A configured client shadows a stored one of the same id,
 * and cannot be changed or deleted here: the configuration is the operator's word.
 */
export class DeviceClientRegistry {
  constructor(
    private readonly configured: DeviceClients,
    private readonly db: DurableDb,
  ) {}

  /** The client `clientId`, or undefined when no one registered it. */
  async find(clientId: string): Promise<RegisteredClient | undefined> {
    const configured = this.configured.get(clientId);
    if (configured) return configured;
    // Nothing that could not be registered is looked up (any string reaches here from a form).
    if (!isClientId(clientId)) return undefined;
    const row = await this.db.selectFrom('device_clients').selectAll().where('client_id', '=', clientId).executeTakeFirst();
    return row ? clientOfRow(row) : undefined;
  }

  /**
   * The clients of `clientIds` that are registered, by client_id, in one database query at most
   * (none when every id is configured): a list of many devices names their clients without a
   * look-up per device. The same answer, id for id, as `find`: a configured client shadows a
   * stored one, and an id no one registered is absent.
   */
  async findMany(clientIds: Iterable<string>): Promise<Map<string, RegisteredClient>> {
    const found = new Map<string, RegisteredClient>();
    const stored: string[] = [];
    for (const clientId of new Set(clientIds)) {
      const configured = this.configured.get(clientId);
      if (configured) found.set(clientId, configured);
      else if (isClientId(clientId)) stored.push(clientId);
    }
    if (stored.length === 0) return found;
    const rows = await this.db.selectFrom('device_clients').selectAll().where('client_id', 'in', stored).execute();
    for (const row of rows) found.set(row.client_id, clientOfRow(row));
    return found;
  }

  /** The client `clientId` for the admin API, or 404 device_client_not_found. */
  async get(clientId: string): Promise<RegisteredClient> {
    const client = await this.find(clientId);
    if (!client) throw notFound(clientId);
    return client;
  }

  /** The client `clientId` for the OAuth endpoints, or 401 `invalid_client`. */
  async require(clientId: string): Promise<RegisteredClient> {
    const client = await this.find(clientId);
    if (!client) throw unknownClient();
    return client;
  }

  /**
   * Whether `registration` of client `clientId` is the one registered now: false once the client is
   * deleted, also after a client of the same id is registered again.
   */
  async isCurrent(clientId: string, registration: string | undefined): Promise<boolean> {
    const client = await this.find(clientId);
    return client !== undefined && client.registration === registration;
  }

  /** Every client, configured and stored, by client_id. */
  async list(): Promise<RegisteredClient[]> {
    const rows = await this.db.selectFrom('device_clients').selectAll().orderBy('client_id').execute();
    const all: RegisteredClient[] = [...this.configured.values(), ...rows.filter((row) => !this.configured.has(row.client_id)).map(clientOfRow)];
    return all.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  }

  /** Whether any client is registered (the home page offers /device only then). */
  async anyRegistered(): Promise<boolean> {
    if (this.configured.size > 0) return true;
    return (await this.db.selectFrom('device_clients').select('client_id').limit(1).executeTakeFirst()) !== undefined;
  }

  /** Every scope some client is registered with (the metadata's `scopes_supported`). */
  async scopesSupported(): Promise<string[]> {
    return [...new Set((await this.list()).flatMap((client) => client.scopes ?? []))];
  }

  /**
   * Creates client `clientId`, or replaces its name and scopes (it keeps its registration, so its
   * pending authorizations and tokens stay its own). A configured client: 409 device_client_in_config.
   */
  async put(clientId: string, input: ClientRegistration, now: number): Promise<{ client: RegisteredClient; created: boolean }> {
    if (this.configured.has(clientId)) throw inConfig(clientId);
    const name = input.name.trim();
    const scopes = input.scopes === undefined ? null : [...new Set(input.scopes)].join(' ');
    // Insert-or-update in two statements rather than one upsert, to tell a creation from a
    // replacement; a concurrent delete between them just means one more round.
    for (let round = 0; round < PUT_ROUNDS; round++) {
      const inserted = await this.db.insertInto('device_clients')
        .values({ client_id: clientId, name, scopes, registration_id: randomId(), created_at: now, updated_at: now })
        .onConflict((oc) => oc.column('client_id').doNothing())
        .returningAll()
        .executeTakeFirst();
      if (inserted) return { client: clientOfRow(inserted), created: true };
      const updated = await this.db.updateTable('device_clients')
        .set({ name, scopes, updated_at: now })
        .where('client_id', '=', clientId)
        .returningAll()
        .executeTakeFirst();
      if (updated) return { client: clientOfRow(updated), created: false };
    }
    throw new ConflictError(`The client "${clientId}" is being changed by someone else at the same time: try again.`, 'device_client_busy');
  }

  /**
   * Deletes client `clientId` and revokes the access and refresh tokens issued to it; returns how
   * many access tokens. Its
   * pending device authorizations then fail with `invalid_client` (the token endpoint finds no
   * client, and ends each at its device's next poll), and keep failing if a client of the same id is
   * registered again (a new registration).
   * A configured client: 409 device_client_in_config; an unknown one: 404 device_client_not_found.
   */
  async delete(clientId: string, tokens: DeviceTokens): Promise<number> {
    if (this.configured.has(clientId)) throw inConfig(clientId);
    const deleted = await this.db.deleteFrom('device_clients').where('client_id', '=', clientId).executeTakeFirst();
    if (Number(deleted.numDeletedRows) === 0) throw notFound(clientId);
    // A token whose issue races with this may escape the next statement; it is inactive all the
    // same, since introspection asks for the client's current registration (and a refresh finds no
    // client, or another registration), and goes at expiry.
    return tokens.revokeForClient(clientId);
  }
}

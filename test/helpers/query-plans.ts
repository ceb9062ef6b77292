import { CompiledQuery, sql, type KyselyPlugin, type PluginTransformQueryArgs, type PluginTransformResultArgs, type QueryId, type QueryResult, type RootOperationNode, type UnknownRow } from 'kysely';
import type { DurableDb } from '../../src/store/durable-schema.js';

/**
 * A Kysely plugin that keeps every statement run through it (`db.withPlugin(capture)`), to be
 * compiled again (`compiled`) and explained (`planOf`): the statements a store method really runs.
 */
export class StatementCapture implements KyselyPlugin {
  private readonly statements: { node: RootOperationNode; queryId: QueryId }[] = [];

  transformQuery(args: PluginTransformQueryArgs): RootOperationNode {
    this.statements.push({ node: args.node, queryId: args.queryId });
    return args.node;
  }

  async transformResult(args: PluginTransformResultArgs): Promise<QueryResult<UnknownRow>> {
    return args.result;
  }

  /** The SQL and parameters of every statement kept, as `db` compiles them. */
  compiled(db: DurableDb): CompiledQuery[] {
    const executor = db.getExecutor();
    return this.statements.map(({ node, queryId }) => executor.compileQuery(node, queryId));
  }
}

/**
 * The plan of `statement` on `db`, in one text (the plan's lines joined by ` | `): SQLite's
 * `EXPLAIN QUERY PLAN` (a table read whole shows as `SCAN <table>`), or PostgreSQL's `EXPLAIN`
 * (`Seq Scan on <table>`). PostgreSQL plans a test's small tables as scans whatever their indexes,
 * so it is asked to avoid scans (`enable_seqscan`): an index its plan still leaves out is one it
 * cannot use.
 */
export async function planOf(db: DurableDb, dialect: 'sqlite' | 'postgres', statement: CompiledQuery): Promise<string> {
  if (dialect === 'sqlite') {
    const plan = await db.executeQuery<{ detail: string }>(CompiledQuery.raw(`EXPLAIN QUERY PLAN ${statement.sql}`, [...statement.parameters]));
    return plan.rows.map((row) => row.detail).join(' | ');
  }
  return db.transaction().execute(async (trx) => {
    await sql`SET LOCAL enable_seqscan = off`.execute(trx);
    const plan = await trx.executeQuery<{ 'QUERY PLAN': string }>(CompiledQuery.raw(`EXPLAIN ${statement.sql}`, [...statement.parameters]));
    return plan.rows.map((row) => row['QUERY PLAN']).join(' | ');
  });
}

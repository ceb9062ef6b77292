import type { KyselyPlugin, PluginTransformQueryArgs, PluginTransformResultArgs, QueryResult, RootOperationNode, UnknownRow } from 'kysely';

/**
 * A Kysely plugin that counts the DELETE statements run through it (`db.withPlugin(counter)`);
 * with `failAt`, the DELETE of that number (1 the first) throws instead of running, as a store
 * gone midway would.
 */
export class DeleteCounter implements KyselyPlugin {
  deletes = 0;

  constructor(private readonly failAt?: number) {}

  transformQuery(args: PluginTransformQueryArgs): RootOperationNode {
    if (args.node.kind === 'DeleteQueryNode' && ++this.deletes === this.failAt) throw new Error(`DELETE number ${this.failAt} failed (DeleteCounter)`);
    return args.node;
  }

  async transformResult(args: PluginTransformResultArgs): Promise<QueryResult<UnknownRow>> {
    return args.result;
  }
}

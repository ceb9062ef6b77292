import type { FastifyRequest } from 'fastify';
import type { Lang } from './i18n.js';

/**
 * Who is asking, for the account pages a person reaches from another door's flow (an app's auth
 * page, a device's consent screen): the register and reset pages know only the `next` path they
 * lead back to, and a person who left a sign-in page that said "Demo asks for access to your
 * account" should still read why they are creating an account.
 *
 * Each door that sends people to sign in describes its own `next` paths, since only it can read
 * them (an access key, a device ticket bound to the browser); accounts imports no door. The words
 * come from the server, never from the address: text carried in a link could be anyone's.
 */
export type FlowIntro = (request: FastifyRequest, next: string, lang: Lang) => Promise<string | undefined> | string | undefined;

/** The describers of each running server, keyed by its `pairgate` services object (as `accountsOf`). */
const describers = new WeakMap<object, FlowIntro[]>();

/**
 * Adds a door's describer: given a `next` path, the sentence saying who asks ("Demo asks for
 * access to your account."), in `lang`, or undefined when the path is not its flow's or the
 * flow is over. Call it from the door's `register` with `app.pairgate`.
 */
export function addFlowIntro(services: object, describe: FlowIntro): void {
  const list = describers.get(services) ?? [];
  list.push(describe);
  describers.set(services, list);
}

/** The first describer's sentence for `next` (a path safeNext accepted), if any door knows it. */
export async function flowIntro(request: FastifyRequest, next: string, lang: Lang): Promise<string | undefined> {
  if (!next) return undefined;
  for (const describe of describers.get(request.server.pairgate) ?? []) {
    const said = await describe(request, next, lang);
    if (said) return said;
  }
  return undefined;
}

import { createServer } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureBuilt } from '../helpers/node-process.js';
import { freePort as closedPort } from '../helpers/ports.js';
import { listening } from '../sdk/consumer-sdk-helpers.js';
import { cliChildren } from './cli-child.js';

/**
 * `pairgate join`'s refusals of a code (unknown, used, declined, burned, too many tries), of the
 * relay (not reachable, not a relay) and of the person's answer are said in plain words, with the
 * machine code at the end in brackets, as every other CLI error (and join's own, since 9d2c275f):
 * they carried no code, so whoever helps the person (or a script) had only the words to go by.
 */

beforeAll(() => ensureBuilt(), 120_000);

const run = cliChildren();

/** A refusal in the support door's shape (`{Error, Description, Code}`). */
interface Refusal {
  status: number;
  body: Record<string, unknown>;
}

/** What the fake servers answer: the relay's look-up, the code's pairing info, the confirmation. */
interface Answers {
  /** `page`: the relay answers with a web page instead of a redirect (not a relay there). */
  relay: 'redirect' | 'page';
  info: Refusal;
  confirm: Refusal;
}

const INFO: Refusal = {
  status: 200,
  body: { SupporterName: 'Thorsten', CompanyName: 'The great PC support', AgentMSH: 'http://x/config/a:b', ExpiresAt: new Date(Date.now() + 600_000).toISOString(), CompanyLogo: '', SupporterAvatar: '' },
};

/** The support door's 404 for a code, with `code` as its machine code. */
const notFound = (code: string): Refusal => ({ status: 404, body: { Error: 'Not Found', Description: 'Code not found', Code: code } });

describe('pairgate join: a refusal is said in plain words, its machine code at the end', () => {
  let server: { url: string; server: ReturnType<typeof createServer> };
  let answers: Answers;

  beforeAll(async () => {
    // A relay (at /relay) sending the code to an origin (at /) that answers with `answers`.
    server = await listening(createServer((incoming, answer) => {
      const send = ({ status, body }: Refusal): void => {
        const text = JSON.stringify(body);
        answer.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) }).end(text);
      };
      const url = incoming.url ?? '';
      const code = /\/relay\/pairing\/(\w+)$/.exec(url)?.[1];
      if (code && answers.relay === 'page') return answer.writeHead(200, { 'content-type': 'text/html' }).end('<html>hello</html>');
      if (code) return answer.writeHead(302, { location: `/pairing/${code}` }).end();
      incoming.resume();
      if (incoming.method === 'POST' && url.endsWith('/confirm')) return send(answers.confirm);
      return send(answers.info);
    }));
  });
  afterAll(() => new Promise<void>((resolve) => server.server.close(() => resolve())));

  /** Runs join with a code at `relay` (this file's by default), answering the question with `answer`. */
  const join = async (answer = '', relay = `${server.url}/relay`): Promise<{ code: number | null; err: string }> => {
    const child = run(['join', '7auu83', '--relay', relay]);
    child.child.stdin!.end(answer);
    const end = await child.exited;
    // The question (when asked) ends without a line break: what follows it is the error line.
    return { code: end.code, err: child.err().replace(/^Do you really want .*\[y\/n\] \n?/, '') };
  };

  it('a refused code: the words for the person, then [code_not_found], [code_used], [code_declined], [code_burned], exit 2', async () => {
    const said: Record<string, string> = {
      code_not_found: 'No session has this code, or it has expired. Check the code, or ask your supporter for a new one.',
      code_used: 'This code was confirmed already, and a code works only once. If you still need help, ask your supporter for a new code.',
      code_declined: 'This code was declined, so nobody was given access, and it works no more. If you do want help, ask your supporter for a new code.',
      code_burned: 'This code can no longer be confirmed (it was used already, or too many wrong attempts). Ask your supporter for a new code.',
    };
    for (const [code, words] of Object.entries(said)) {
      answers = { relay: 'redirect', info: notFound(code), confirm: notFound(code) };
      expect(await join(), code).toEqual({ code: 2, err: `pairgate: ${words} [${code}]\n` });
    }
  }, 60_000);

  it('too many tries: the server\'s words (how long to wait), then [rate_limited], exit 2', async () => {
    const words = 'Too many wrong codes from your address. Try again in 60 s.';
    answers = { relay: 'redirect', info: { status: 429, body: { Error: 'Too Many Requests', Description: words, Code: 'rate_limited' } }, confirm: INFO };
    expect(await join()).toEqual({ code: 2, err: `pairgate: ${words} [rate_limited]\n` });
  }, 30_000);

  it('a relay that cannot be reached: [network_error], exit 1; a page where the relay should be: [relay_bad_answer], exit 2', async () => {
    const closed = `http://127.0.0.1:${await closedPort()}`;
    expect(await join('', `${closed}/relay`)).toEqual({ code: 1, err: `pairgate: Cannot reach ${closed}/relay (ECONNREFUSED). Check the address, your connection, and that the server runs. [network_error]\n` });
    answers = { relay: 'page', info: INFO, confirm: INFO };
    const page = await join();
    expect(page.code).toBe(2);
    expect(page.err).toMatch(/^pairgate: http:\/\/127\.0\.0\.1:\d+\/relay answered the code with a page, not a redirect: .+ \[relay_bad_answer\]\n$/);
  }, 30_000);

  it('a yes the server refuses (confirmed meanwhile): the same words and [code_used], exit 2', async () => {
    answers = { relay: 'redirect', info: INFO, confirm: notFound('code_used') };
    expect(await join('y\n')).toEqual({ code: 2, err: 'pairgate: This code was confirmed already, and a code works only once. If you still need help, ask your supporter for a new code. [code_used]\n' });
  }, 30_000);

  it('a no the server answers with a refusal: a sentence with the server\'s code at its end', async () => {
    answers = { relay: 'redirect', info: INFO, confirm: notFound('code_not_found') };
    expect(await join('n\n')).toEqual({ code: 2, err: 'pairgate: There was nothing left to decline: the code works no more (it expired, your supporter replaced it, or it had too many wrong tries), so nobody was given access with it. [code_not_found]\n' });
    answers = { relay: 'redirect', info: INFO, confirm: { status: 503, body: { Error: 'Service Unavailable', Description: 'The server is busy.', Code: 'store_unavailable' } } };
    expect(await join('n\n')).toEqual({ code: 1, err: 'pairgate: The server may not have taken your no: The server is busy. Nobody was given access, but if the no did not reach the server, the code still works until it expires (a few minutes after your supporter gave it) and your supporter was not told: run pairgate join again to decline, or tell them. [store_unavailable]\n' });
  }, 30_000);

});

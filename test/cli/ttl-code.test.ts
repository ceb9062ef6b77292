import { beforeAll, describe, expect, it } from 'vitest';
import { ensureBuilt } from '../helpers/cli.js';
import { runAll } from './command-table.js';

beforeAll(ensureBuilt, 120_000);

/**
 * A `--ttl` outside what the command takes is one mistake, with one machine code, whichever
 * command it was typed to: `ttl_invalid`, the support server's own for a ttl it refuses (the
 * grant API has none of its own: its schema says validation_failed). `grant create --ttl 5` said
 * `[invalid_request]` where `session create --ttl 1` said `[ttl_invalid]`.
 */
describe('a --ttl out of range: ttl_invalid from grant create and session create', () => {
  it('too short or too long, before any request: the range in words, [ttl_invalid], exit 2', async () => {
    // Port 9: nothing is asked of it, the option is refused first.
    const server = 'http://127.0.0.1:9';
    const [short, long, session] = await runAll([
      ['grant', 'create', '--label', 'Let the printer in', '--ttl', '5', '--server', server],
      ['grant', 'create', '--label', 'Let the printer in', '--ttl', '25h', '--server', server],
      ['session', 'create', '--ttl', '1', '--server', server, '--user', 'support', '--password', '1234'],
    ]);
    expect(short).toEqual({ status: 2, stdout: '', stderr: 'pairgate: --ttl must be from 10 s to 24 h; "5" is 5 s. [ttl_invalid]\n' });
    expect(long).toEqual({ status: 2, stdout: '', stderr: 'pairgate: --ttl must be from 10 s to 24 h; "25h" is 25 h. [ttl_invalid]\n' });
    expect(session).toEqual({ status: 2, stdout: '', stderr: 'pairgate: --ttl must be 10 s or more; "1" is 1 s. [ttl_invalid]\n' });
  }, 60_000);
});

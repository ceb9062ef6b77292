import { afterEach, describe, expect, it, vi } from 'vitest';
import { warnOfFileKeys } from '../../src/cli/config-file.js';
import { parseConfigText } from '../../src/server/config-file.js';
import { coreConfigSchema } from '../../src/server/config-schema.js';

const check = (text: string) => warnOfFileKeys(parseConfigText('/etc/pairgate.env', text), [coreConfigSchema]);

describe('serve --config file keys', () => {
  afterEach(() => {
    vi.restoreAllMocks();
  });

  it('warns of pairgate keys no section declares, suggesting the close one, without the value', () => {
    const warn = vi.spyOn(console, 'error').mockImplementation(() => undefined);
    check('PAIRGATE_PROT=8081\nPAIRGATE_METRICS_TOKN=s3cr3t-0123456789abcdefghijklmnop\nOTHER_PROGRAM_KEY=1\nPAIRGATE_SOMETHING_ELSE=1\n');
    expect(warn.mock.calls.map((call) => String(call[0])).sort()).toEqual([
      'pairgate: warning: --config: /etc/pairgate.env: PAIRGATE_METRICS_TOKN is not a configuration key and is ignored (did you mean PAIRGATE_METRICS_TOKEN?)',
      'pairgate: warning: --config: /etc/pairgate.env: PAIRGATE_PROT is not a configuration key and is ignored (did you mean PAIRGATE_PORT?)',
      'pairgate: warning: --config: /etc/pairgate.env: PAIRGATE_SOMETHING_ELSE is not a configuration key and is ignored (misspelt? see serve --help-config)',
    ]);
  });

  it('warns of a key set on several lines, naming them and the one that counts (parseEnv took the last without a word)', () => {
    const warn = vi.spyOn(console, 'error').mockImplementation(() => undefined);
    check('PAIRGATE_PORT=8081\nexport PAIRGATE_HOST=::\nPAIRGATE_PORT = 9000\nOTHER_PROGRAM_KEY=1\nOTHER_PROGRAM_KEY=2\nPAIRGATE_HOST="0.0.0.0"\nPAIRGATE_PORT=9001\n');
    expect(warn.mock.calls.map((call) => String(call[0]))).toEqual([
      'pairgate: warning: --config: /etc/pairgate.env: PAIRGATE_PORT is set on lines 1, 3 and 7: line 7 counts; remove the others',
      'pairgate: warning: --config: /etc/pairgate.env: PAIRGATE_HOST is set on lines 2 and 6: line 6 counts; remove the others',
    ]);
  });
});

import { afterEach, describe, expect, it, vi } from 'vitest';
import { warnOfUnknownFileKeys } from '../../src/cli/config-file.js';
import { parseConfigText } from '../../src/server/config-file.js';
import { coreConfigSchema } from '../../src/server/config-schema.js';

const check = (text: string) => warnOfUnknownFileKeys(parseConfigText('/etc/pairgate.env', text), [coreConfigSchema]);

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
});

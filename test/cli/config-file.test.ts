import { afterEach, describe, expect, it, vi } from 'vitest';
import { checkConfigFile } from '../../src/cli/config-file.js';
import { coreConfigSchema } from '../../src/server/config-schema.js';

const check = (text: string) => checkConfigFile('/etc/pairgate.env', text, [coreConfigSchema]);
/** The message a refused file gets, or 'accepted'. */
const refusal = (text: string): string => {
  try {
    check(text);
    return 'accepted';
  } catch (error) {
    return (error as Error).message;
  }
};

describe('serve --config file lines', () => {
  afterEach(() => {
    vi.restoreAllMocks();
  });

  it('refuses a last line that is not KEY=value, with or without a newline after it (parseEnv dropped it without a word)', () => {
    for (const end of ['', '\n', '\r\n']) {
      expect(refusal(`PAIRGATE_HOST=0.0.0.0\nPAIRGATE_PORT${end}`)).toBe('--config: /etc/pairgate.env, line 2: "PAIRGATE_PORT" is not a KEY=value line; fix it or comment it out with #');
      expect(refusal(`PAIRGATE_HOST=0.0.0.0\n\n# a comment\ngarbage${end}`)).toMatch(/^--config: \/etc\/pairgate\.env, line 4: "garbage" is not a KEY=value line/);
    }
  });

  it('refuses a bad line anywhere the same way, naming its number', () => {
    expect(refusal('# comment\nlisten on all interfaces\nPAIRGATE_PORT=0\n')).toBe('--config: /etc/pairgate.env, line 2: "listen on all interfaces" is not a KEY=value line; fix it or comment it out with #');
    expect(refusal('PAIRGATE_PORT=0\r\ngarbage\r\nPAIRGATE_HOST=::\r\n')).toMatch(/, line 2: "garbage" is not/);
    // Each of these hid the PAIRGATE_PORT line after it (parseEnv glued them into one key).
    expect(refusal('PAIRGATE_HOST=::\n   \nPAIRGATE_PORT=0\n')).toMatch(/, line 2: holds only spaces or tabs: leave it empty;/);
    expect(refusal('PAIRGATE_HOST=::\n  # listen here\nPAIRGATE_PORT=0\n')).toMatch(/, line 2: is a comment that does not start the line: remove the blanks before #;/);
    expect(refusal('PAIRGATE_HOST=::\n\tPAIRGATE_PORT=0\n')).toMatch(/, line 2: "\\tPAIRGATE_PORT" is not a key/);
    expect(refusal('PAIRGATE HOST=::\n')).toMatch(/, line 1: "PAIRGATE HOST" is not a key/);
    // An empty key made parseEnv stop reading: every line after it was lost.
    expect(refusal('PAIRGATE_HOST=::\n=0\nPAIRGATE_PORT=0\n')).toMatch(/, line 2: "" is not a key/);
  });

  it('never shows a value: a YAML-style line is cut at its colon', () => {
    const message = refusal('PAIRGATE_METRICS_TOKEN: s3cr3t-0123456789abcdefghijklmnop\n');
    expect(message).toMatch(/line 1: "PAIRGATE_METRICS_TOKEN: \.\.\." is not a KEY=value line/);
    expect(message).not.toContain('s3cr3t');
  });

  it('accepts what parseEnv reads whole: comments, blank lines, export, quoted values over several lines', () => {
    vi.spyOn(console, 'error').mockImplementation(() => undefined);
    const text = [
      '# pairgate',
      '',
      'export PAIRGATE_HOST=0.0.0.0',
      'PAIRGATE_PUBLIC_URL = "https://pair.example.com" # where clients reach it',
      "PLEXUS_AUTH_USER='support'",
      'PAIRGATE_METRICS_TOKEN="first line',
      'not a setting: part of the value',
      'last line"',
      'PAIRGATE_PORT=8081',
      '#PAIRGATE_LOG_LEVEL=debug',
    ].join('\n');
    for (const end of ['', '\n']) {
      expect(check(`${text}${end}`)).toEqual({
        PAIRGATE_HOST: '0.0.0.0',
        PAIRGATE_PUBLIC_URL: 'https://pair.example.com',
        PLEXUS_AUTH_USER: 'support',
        PAIRGATE_METRICS_TOKEN: 'first line\nnot a setting: part of the value\nlast line',
        PAIRGATE_PORT: '8081',
        ...(end ? {} : { '#PAIRGATE_LOG_LEVEL': 'debug' }),
      });
    }
    // A quote that is never closed is a value of one line: what follows is read as lines again.
    expect(refusal('PAIRGATE_HOST="::\ngarbage\nPAIRGATE_PORT=0\n')).toMatch(/, line 2: "garbage" is not/);
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

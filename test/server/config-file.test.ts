import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { allDoors } from '../../src/doors/index.js';
import { loadConfig } from '../../src/server/config.js';
import { decodeConfigBytes, parseConfigText, readConfigFile } from '../../src/server/config-file.js';

const check = (text: string) => parseConfigText('/etc/pairgate.env', text).values;
/** The message a refused file gets, or 'accepted'. */
const refusal = (text: string): string => {
  try {
    check(text);
    return 'accepted';
  } catch (error) {
    return (error as Error).message;
  }
};

describe('configuration file lines', () => {
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

});

describe('values parseEnv would cut short', () => {
  it('refuses a # in a value without quotes, which cut it there (a password abc#123 was read as abc), never showing the value', () => {
    const message = refusal('PAIRGATE_HOST=::\nPAIRGATE_METRICS_TOKEN=s3cr3t#0123456789abcdefghijklmnopqrstuv\n');
    expect(message).toBe('--config: /etc/pairgate.env, line 2: the value of PAIRGATE_METRICS_TOKEN holds a # that is read as the start of a comment, so what follows it is dropped; put the value in quotes ("...") to keep the #, or a space before # for a comment; fix it or comment it out with #');
    expect(message).not.toContain('s3cr3t');
    expect(refusal('PAIRGATE_HOST=#all\n')).toMatch(/line 1: the value of PAIRGATE_HOST holds a # /);
  });

  it('refuses text after a closing quote, which was dropped, on the line the quote closes', () => {
    expect(refusal('PAIRGATE_HOST="::"1\n')).toMatch(/, line 1: PAIRGATE_HOST has text after the quote that closes its value, which is dropped;/);
    expect(refusal("A='it''s'\n")).toMatch(/, line 1: A has text after the quote/);
    expect(refusal('A="one\ntwo" three\nB=1\n')).toMatch(/, line 2: A has text after the quote/);
  });

  it('accepts a # in quotes, a comment after a space or after the closing quote', () => {
    expect(check('A="abc#123"\nB=8080 # the port\nC=\'x\' # c\nD= # nothing\nE="one\ntwo#" # c\nF=\n')).toEqual({ A: 'abc#123', B: '8080', C: 'x', D: '', E: 'one\ntwo#', F: '' });
  });
});

describe('keys a configuration file sets more than once', () => {
  it('are listed with their lines, a value over several lines counted once', () => {
    const file = parseConfigText('/etc/pairgate.env', 'A=1\nB="one\nA=not a key: in the value\ntwo"\nexport A=2\n# A=3\nB=3\n');
    expect(file.values).toEqual({ A: '2', B: '3' });
    expect(file.repeated).toEqual([{ key: 'A', lines: [1, 5] }, { key: 'B', lines: [2, 7] }]);
    expect(parseConfigText('/etc/pairgate.env', 'A=1\nB=2\n').repeated).toBeUndefined();
  });
});

describe('configuration file encoding', () => {
  const refusalOf = (bytes: Uint8Array): string => {
    try {
      decodeConfigBytes('/etc/pairgate.env', bytes);
      return 'accepted';
    } catch (error) {
      return (error as Error).message;
    }
  };

  it('drops a UTF-8 byte-order mark (Notepad writes one): the first key stays a key', () => {
    const bytes = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('PAIRGATE_PORT=9001\nPAIRGATE_PUBLIC_URL=https://café.example\n')]);
    const text = decodeConfigBytes('/etc/pairgate.env', bytes);
    expect(parseConfigText('/etc/pairgate.env', text).values).toEqual({ PAIRGATE_PORT: '9001', PAIRGATE_PUBLIC_URL: 'https://café.example' });
  });

  it('refuses another encoding than UTF-8, naming the line and the byte, rather than replacing the letter', () => {
    // "café" in Latin-1 on line 3: read as UTF-8 it became "caf\uFFFD" without a word.
    const latin1 = Buffer.from('# pairgate\nPAIRGATE_PORT=0\nPAIRGATE_HOST=caf\xe9\n', 'latin1');
    expect(refusalOf(latin1)).toBe('--config: /etc/pairgate.env, line 3: byte 0xE9 is not UTF-8 text (the file is in another encoding, such as Latin-1 or Windows-1252): save it as UTF-8 (in most editors: Save As, Encoding: UTF-8)');
    // A bad byte after a good multi-byte character, on the last line without a newline.
    expect(refusalOf(Buffer.concat([Buffer.from('A=é\nB=ok\nC=é'), Buffer.from([0x80])]))).toMatch(/^--config: \/etc\/pairgate\.env, line 3: byte 0x80 is not UTF-8/);
    // In the middle of a value: the byte named is the one that starts the bad character, not the next.
    expect(refusalOf(Buffer.from('PAIRGATE_PUBLIC_URL=https://caf\xe9.example\n', 'latin1'))).toMatch(/, line 1: byte 0xE9 is not UTF-8/);
    // A character cut at the end of the file.
    expect(refusalOf(Buffer.concat([Buffer.from('A=1\nB='), Buffer.from([0xc3])]))).toMatch(/, line 2: byte 0xC3 is not UTF-8/);
  });

  it('refuses UTF-16 (Notepad\'s "Unicode"), saying so', () => {
    const utf16 = Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from('PAIRGATE_PORT=0\n', 'utf16le')]);
    expect(refusalOf(utf16)).toBe('--config: /etc/pairgate.env is saved as UTF-16 text, not UTF-8: save it as UTF-8 (in most editors: Save As, Encoding: UTF-8)');
  });
});

describe('loading a configuration file', () => {
  const sections = allDoors.flatMap((door) => (door.configSchema ? [door.configSchema] : []));
  const fileWith = (text: string | Buffer): string => {
    const file = join(mkdtempSync(join(tmpdir(), 'pairgate-config-file-')), 'pairgate.env');
    writeFileSync(file, text);
    return file;
  };

  it('refuses a line that is not KEY=value for every caller of loadConfig, not only serve (the setting after it was lost)', () => {
    const file = fileWith('PAIRGATE_HOST=::\nlisten on all interfaces\nPAIRGATE_PORT=9001\n');
    expect(() => loadConfig(sections, { file })).toThrow(`--config: ${file}, line 2: "listen on all interfaces" is not a KEY=value line; fix it or comment it out with #`);
  });

  it('reads a file with a byte-order mark, its first key included', () => {
    const file = fileWith(Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('PAIRGATE_PORT=9001\n')]));
    expect(loadConfig(sections, { file }).PAIRGATE_PORT).toBe(9001);
  });

  it('takes a file already read as it was read: a change on disk since then is not a second view of it', () => {
    const file = fileWith('PAIRGATE_PORT=9001\n');
    const read = readConfigFile(file);
    writeFileSync(file, 'PAIRGATE_PORT=9002\n');
    expect(loadConfig(sections, { file: read }).PAIRGATE_PORT).toBe(9001);
    expect(loadConfig(sections, { file }).PAIRGATE_PORT).toBe(9002);
  });

  it('refuses a device (it was read until the memory ran out) and a file far larger than any configuration', () => {
    expect(() => readConfigFile('/dev/zero')).toThrow('--config: /dev/zero is a device, not a file: give the path of the configuration file');
    const big = fileWith(Buffer.alloc(1024 * 1024 + 1, 0x23));
    expect(() => readConfigFile(big)).toThrow(`--config: ${big} has 1048577 bytes, more than a configuration file's 1048576: is it the right file?`);
  });

  it('says which file cannot be read, and why', () => {
    expect(() => readConfigFile('/nonexistent/pairgate.env')).toThrow('--config: cannot read /nonexistent/pairgate.env: there is no such file (ENOENT)');
  });
});

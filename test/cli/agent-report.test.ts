import { describe, expect, it } from 'vitest';
import { agentReportJson, formatAgentReport } from '../../src/cli/agent-report.js';
import { fitReport } from '../../src/cli/network-report.js';
import { chatLine, terminalSafe } from '../../src/cli/terminal-text.js';
import { SAMPLE_TEXT, sampleReport } from './sample-report.js';

describe('the agent\'s diagnostics report as pairgate session attach prints it', () => {
  it('reads like pairgate doctor: one line per check with its status and summary, errors, the counts, where the details are', () => {
    expect(formatAgentReport(sampleReport())).toBe(SAMPLE_TEXT);
  });

  it('says when the agent trimmed the report to fit the channel (and does not point to details it no longer has)', () => {
    const report = sampleReport();
    report.checks[0]!.details = { othersHeard: Array.from({ length: 3000 }, (_, i) => ({ address: `10.0.${i % 250}.1`, deviceId: `device-${i}` })) };
    const trimmed = fitReport(report, 32 * 1024);
    expect(trimmed.trimmed).toBe(true);
    const text = formatAgentReport(trimmed);
    expect(text).toContain('  OK    network interfaces: up: eth0');
    expect(text.split('\n').at(-1)).toBe('The agent trimmed this report to fit the session channel: the checks\' details were dropped.');
    expect(text).not.toContain('--json');
  });

  it('counts the checks itself when the report has no usable counts; a status it does not know is shown as sent', () => {
    const report = { host: { hostname: 'pc-of-joe' }, checks: [{ title: 'new check', status: 'info', summary: 'hello' }, { name: 'dns', status: 'fail', summary: 'no answer' }] };
    expect(formatAgentReport(report)).toBe([
      'pairgate doctor on pc-of-joe (?, node ?)',
      '  INFO  new check: hello',
      '  FAIL  dns: no answer',
      '0 ok, 0 warnings, 1 failed, 0 skipped.',
    ].join('\n'));
  });

  it('a report of another shape (an older or foreign agent) is printed as indented JSON', () => {
    const report = { hostname: 'pc-of-joe', interfaces: { eth0: ['192.168.1.20'] } };
    expect(formatAgentReport(report)).toBe(JSON.stringify(report, null, 2));
    expect(formatAgentReport({ host: { hostname: 'x' }, checks: ['not a check'] })).toBe(JSON.stringify({ host: { hostname: 'x' }, checks: ['not a check'] }, null, 2));
    expect(formatAgentReport(undefined)).toBe('undefined');
  });

  it('nothing the agent sends reaches the terminal as a control sequence, as text or as JSON', () => {
    const report = sampleReport();
    report.host.hostname = 'pc\u001b]0;owned\u0007';
    report.checks[1]!.summary = '\u001b[2J\u001b[Hall clear \u009b31m\u202eevil';
    const text = formatAgentReport(report);
    expect(text).toContain('pairgate doctor on pc\uFFFD]0;owned\uFFFD (linux-x64, node 20.0.0)');
    expect(text).toContain('own IP addresses: \uFFFD[2J\uFFFD[Hall clear \uFFFD31m\uFFFDevil');
    // JSON escapes C0 controls itself; C1 controls and bidirectional overrides it leaves as they are.
    const json = agentReportJson(report);
    expect([...json].filter((char) => terminalSafe(char) !== char)).toEqual([]);
    expect(json).toContain('\\u001b[2J');
    expect(JSON.parse(json).checks[1].summary).toBe('\u001b[2J\u001b[Hall clear \uFFFD31m\uFFFDevil');
    expect(terminalSafe('line one\n\tline two')).toBe('line one\n\tline two');
  });

  it('a field\'s line break does not add a line of the agent\'s making (a check that passes for another)', () => {
    const report = { host: { hostname: 'pc\nOK' }, checks: [{ name: 'dns', status: 'fail', summary: 'no answer\n  OK    dns: all good', hint: 'a\u2028b' }] };
    const lines = formatAgentReport(report).split('\n');
    expect(lines[0]).toBe('pairgate doctor on pc OK (?, node ?)');
    expect(lines[1]).toBe('  FAIL  dns: no answer   OK    dns: all good');
    expect(lines.filter((line) => /^\s*OK\s/.test(line))).toEqual([]);
    expect(formatAgentReport(report)).toContain('a\uFFFDb');
  });

  it('a message of several lines is printed under its sender, each line indented (chatLine)', () => {
    expect(chatLine('agent> ', 'thanks\nThe person ended the session.\nyou> ok')).toBe('agent> thanks\n       The person ended the session.\n       you> ok');
    expect(chatLine('Thorsten: ', 'one')).toBe('Thorsten: one');
    expect(chatLine('agent> ', 'a\u2028b\u001b[2J')).toBe('agent> a\uFFFDb\uFFFD[2J');
  });
});

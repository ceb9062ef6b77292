import { formatDoctorReport, type CheckStatus, type DoctorCheck, type DoctorReport } from '../doors/lan/doctor.js';
import { terminalLine, terminalSafe } from './terminal-text.js';

/**
 * The diagnostics report an agent shares on the session channel (`pairgate join`'s /diag sends
 * `pairgate doctor`'s report), as the supporter's `pairgate session attach` prints it: as text, the
 * way `pairgate doctor` prints its own. The report comes from the other side of the session, so it
 * is read as untrusted: only fields of the doctor's shape are used, anything else falls back to
 * indented JSON, and every string is made safe for the terminal.
 *
 * Loaded by `session attach` only (the doctor module pulls in TLS identities).
 */

const STATUSES: readonly CheckStatus[] = ['ok', 'warn', 'fail', 'skip'];

function isRecord(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/**
 * A field of the report as one line: the report is laid out a line per check, and a field's own
 * line break would let the agent add a line of its own making (`OK    dns: all good`).
 */
function text(value: unknown, otherwise = '?'): string {
  return typeof value === 'string' ? terminalLine(value) : typeof value === 'number' || typeof value === 'boolean' ? String(value) : otherwise;
}

/** The report as a DoctorReport when it has the doctor's shape (host and a list of checks); undefined otherwise. */
function asDoctorReport(report: unknown): DoctorReport | undefined {
  if (!isRecord(report) || !isRecord(report.host) || !Array.isArray(report.checks) || !report.checks.every(isRecord)) return undefined;
  const checks: DoctorCheck[] = (report.checks as Record<string, unknown>[]).map((check) => ({
    name: text(check.name),
    title: text(check.title, text(check.name)),
    // An unknown status (a newer agent's) is shown as sent; the counts below skip it.
    status: text(check.status) as CheckStatus,
    summary: text(check.summary, ''),
    ...(check.error !== undefined ? { error: text(check.error) } : {}),
    // What to try: for the supporter reading the report as much as for the person who ran it.
    ...(check.hint !== undefined ? { hint: text(check.hint) } : {}),
    durationMs: typeof check.durationMs === 'number' ? check.durationMs : 0,
  }));
  const sent = isRecord(report.counts) ? report.counts : {};
  const counted = STATUSES.every((status) => Number.isInteger(sent[status]) && (sent[status] as number) >= 0);
  const counts = Object.fromEntries(STATUSES.map((status) => [status, counted ? (sent[status] as number) : checks.filter((check) => check.status === status).length])) as Record<CheckStatus, number>;
  return {
    version: 1,
    startedAt: text(report.startedAt),
    finishedAt: text(report.finishedAt),
    host: { hostname: text(report.host.hostname), platform: text(report.host.platform), node: text(report.host.node) },
    ok: counts.fail === 0,
    counts,
    checks,
  };
}

/** `report` as indented JSON, safe for the terminal (what `--json` prints, and the fallback). */
export function agentReportJson(report: unknown): string {
  return terminalSafe(JSON.stringify(report, null, 2) ?? String(report));
}

/**
 * `report` as text: `pairgate doctor`'s format (one line per check with its status and summary,
 * then the counts), a note when the agent trimmed it to fit the channel, and where the checks'
 * details are (`--json`); a report of another shape as indented JSON.
 */
export function formatAgentReport(report: unknown): string {
  const doctor = asDoctorReport(report);
  if (!doctor) return agentReportJson(report);
  const notes: string[] = [];
  const raw = report as Record<string, unknown>;
  if (raw.trimmed === true) notes.push('The agent trimmed this report to fit the session channel: the checks\' details were dropped.');
  else if ((raw.checks as Record<string, unknown>[]).some((check) => check.details !== undefined)) notes.push('Each check\'s details (interfaces and their addresses, devices heard...): attach with --json.');
  return terminalSafe([formatDoctorReport(doctor), ...notes].join('\n'));
}

import type { DoctorOptions, DoctorReport } from '../doors/lan/doctor.js';
import { MAX_REPORT } from '../doors/support/channel-limits.js';

/** Longest summary or error text of a check kept when a report has to be cut to fit. */
const MAX_CHECK_TEXT = 500;

/**
 * The network diagnostics report the agent shares with its supporter, only when the person asks
 * for it with /diag: the report of `pairgate doctor` (network interfaces and their addresses, own
 * addresses, the pairing listener, reaching itself, multicast, and DNS and reachability of the
 * supporter's server when `server` is given), as the spec has the agent share. It names the host
 * and its addresses, which a supporter needs to help, and no hardware identifiers: no MAC
 * addresses, which identify the machine wherever it goes and help with nothing here.
 *
 * The doctor loads only when the report is asked for (its checks pull in TLS identities that every
 * other command would load for nothing). Never throws: a failing check is part of the report.
 */
export async function networkReport(options: Pick<DoctorOptions, 'server' | 'log'> = {}): Promise<Record<string, unknown>> {
  const { runDoctor } = await import('../doors/lan/doctor.js');
  const report = await runDoctor({ ...(options.server ? { server: options.server } : {}), ...(options.log ? { log: options.log } : {}) });
  return fitReport(report, MAX_REPORT);
}

/**
 * `report` within `maxLength` characters of JSON (what the session channel accepts): when it is
 * longer (a busy network: many interfaces, many devices heard), the checks' details go and their
 * summaries stay, cut if need be; `trimmed` says so.
 */
export function fitReport(report: DoctorReport, maxLength: number): Record<string, unknown> {
  if (JSON.stringify(report).length <= maxLength) return report as unknown as Record<string, unknown>;
  const cut = (text: string | undefined): string | undefined => (text !== undefined && text.length > MAX_CHECK_TEXT ? `${text.slice(0, MAX_CHECK_TEXT - 1)}…` : text);
  const checks = report.checks.map(({ details: _details, summary, error, ...rest }) => ({ ...rest, summary: cut(summary)!, ...(error !== undefined ? { error: cut(error) } : {}) }));
  return { ...report, checks, trimmed: true };
}

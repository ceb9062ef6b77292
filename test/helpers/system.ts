import { execFileSync } from 'node:child_process';

/**
 * Tests that need a system program (chromium, pebble, dig, redis-server, PostgreSQL, root for
 * network namespaces) ask here. On a developer's machine a missing program skips the test with the
 * reason; under CI=true it is a failure, because .ci/run installs everything.
 */

/** True when running in CI, where nothing may be skipped. */
export const inCi = process.env.CI === 'true';

/** The path of `program` on PATH, or undefined. */
export function findProgram(program: string): string | undefined {
  try {
    // The name as an argument of the script, not part of it: a path with spaces or quotes stays one word.
    return execFileSync('sh', ['-c', 'command -v "$1"', 'sh', program], { encoding: 'utf8' }).trim() || undefined;
  } catch {
    return undefined;
  }
}

/**
 * The reason to skip when `program` is missing (undefined when present). Under CI=true a missing
 * program throws, so the suite fails instead of passing quietly.
 */
export function missingProgram(program: string, purpose: string): string | undefined {
  if (findProgram(program)) return undefined;
  const reason = `${program} is not installed (needed for ${purpose})`;
  if (inCi) throw new Error(`${reason}; .ci/run should have installed it`);
  return reason;
}

/** Like missingProgram for a condition of the machine (e.g. running as root). */
export function unmetRequirement(met: boolean, reason: string): string | undefined {
  if (met) return undefined;
  if (inCi) throw new Error(`${reason}; CI must provide it`);
  return reason;
}

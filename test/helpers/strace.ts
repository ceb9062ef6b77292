import { readFileSync } from 'node:fs';

/** `1234  openat(... <unfinished ...>`: a call another thread's call interrupted in the trace. */
const UNFINISHED = /^(\d+)\s+(.*) <unfinished \.\.\.>$/;
/** `1234  <... openat resumed>) = 19`: the rest of that call, further down. */
const RESUMED = /^(\d+)\s+<\.\.\. [\w]+ resumed>(.*)$/;

/**
 * The lines of an strace log written with `-f`, each call whole on one line at the place it
 * began. strace splits a call into `<unfinished ...>` and `<... name resumed>` lines when another
 * thread's call comes between its start and its end: on a loaded machine that happens to the very
 * calls a test looks for (a key file's `link` was missed that way in CI).
 */
export function readStraceLog(path: string): string[] {
  const lines = readFileSync(path, 'utf8').split('\n');
  const open = new Map<string, number>();
  const joined: (string | undefined)[] = [...lines];
  lines.forEach((line, index) => {
    const unfinished = UNFINISHED.exec(line);
    if (unfinished) {
      open.set(unfinished[1]!, index);
      joined[index] = line.slice(0, line.length - ' <unfinished ...>'.length);
      return;
    }
    const resumed = RESUMED.exec(line);
    const start = resumed ? open.get(resumed[1]!) : undefined;
    if (resumed && start !== undefined) {
      joined[start] += resumed[2]!;
      joined[index] = undefined;
      open.delete(resumed[1]!);
    }
  });
  return joined.filter((line): line is string => line !== undefined);
}

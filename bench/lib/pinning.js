// CPU pinning for the benchmarks: the server under test on CPU 0, the load generator (this process)
// on the others. Unpinned, the server's garbage-collector threads ran on the load generator's core
// and the scheduler moved both around, so the same run varied by half from one minute to the next;
// pinned, a server gets exactly the one core the targets are stated for.
import { execFileSync } from 'node:child_process';
import { availableParallelism } from 'node:os';

function hasTaskset() {
  try {
    execFileSync('taskset', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** CPUs this process may use, read before it pins itself (which makes it one fewer). */
const cpus = availableParallelism();

/** Whether servers are pinned: taskset is installed, there are two CPUs or more, and PAIRGATE_BENCH_PIN is not 0. */
export const pinned = process.env.PAIRGATE_BENCH_PIN !== '0' && cpus >= 2 && hasTaskset();

/** The load generator's CPUs, as taskset writes them. */
const loadCpus = cpus > 2 ? `1-${cpus - 1}` : '1';

/** CPU the server under test runs on. */
export const SERVER_CPU = 0;

if (pinned) {
  // Every thread of this process (autocannon, undici) moves off the server's CPU.
  execFileSync('taskset', ['--all-tasks', '--cpu-list', '--pid', loadCpus, String(process.pid)], { stdio: 'ignore' });
}

/**
 * The command and arguments that run `args` with node, on the server's CPU when pinning is on
 * and `pin` is true (a benchmark of several nodes passes false: they need a core each), under
 * the command `wrap` names when one is given (valgrind, for the instruction counts).
 */
export function nodeCommand(args, pin = true, wrap = []) {
  const line = [...(pinned && pin ? ['taskset', '--cpu-list', String(SERVER_CPU)] : []), ...wrap, process.execPath, ...args];
  return { command: line[0], args: line.slice(1) };
}

/** One line saying how the benchmark is pinned, for its output. */
export function pinningNote() {
  return pinned
    ? `server pinned to CPU ${SERVER_CPU}, load generator on CPU ${loadCpus} (PAIRGATE_BENCH_PIN=0 turns this off)`
    : 'not pinned (needs taskset and two CPUs): server and load generator share the machine';
}

import { execFileSync } from 'node:child_process';

/**
 * Two "hosts" for tests: network namespaces joined by a veth pair, named uniquely per run (pid and
 * a counter) so parallel runs never collide. Needs root and iproute2. `remove()` deletes both
 * namespaces (which deletes the veth pair too) and never throws.
 */
export interface HostPair {
  a: string;
  b: string;
  addressA: string;
  addressB: string;
  vethA: string;
  vethB: string;
  remove(): void;
}

let counter = 0;

function ip(...args: string[]): void {
  execFileSync('ip', args, { stdio: ['ignore', 'ignore', 'pipe'] });
}

/** Makes the pair; on any failure removes what was made and rethrows. */
export function createHostPair(subnet: number): HostPair {
  // The whole pid (pid_max goes up to 4194304: pids a multiple of 100000 apart would share a tag);
  // the longest name, pgl + 7 digits + 2 letters, stays within the 15 characters of an interface name.
  const tag = `${process.pid}${String.fromCharCode(97 + (counter++ % 26))}`;
  const a = `pgl${tag}a`;
  const b = `pgl${tag}b`;
  const vethA = `pgv${tag}a`;
  const vethB = `pgv${tag}b`;
  const addressA = `10.231.${subnet}.1`;
  const addressB = `10.231.${subnet}.2`;
  const remove = () => {
    for (const ns of [a, b]) {
      try {
        ip('netns', 'del', ns);
      } catch {
        // Not made, or already gone.
      }
    }
  };
  try {
    ip('netns', 'add', a);
    ip('netns', 'add', b);
    ip('link', 'add', vethA, 'netns', a, 'type', 'veth', 'peer', 'name', vethB, 'netns', b);
    for (const [ns, dev, address] of [[a, vethA, addressA], [b, vethB, addressB]] as const) {
      ip('-n', ns, 'link', 'set', 'lo', 'up');
      ip('-n', ns, 'addr', 'add', `${address}/24`, 'dev', dev);
      ip('-n', ns, 'link', 'set', dev, 'up');
    }
  } catch (error) {
    remove();
    throw error;
  }
  return { a, b, addressA, addressB, vethA, vethB, remove };
}

/** Sets an interface down inside a namespace. */
export function setLinkDown(ns: string, dev: string): void {
  ip('-n', ns, 'link', 'set', dev, 'down');
}

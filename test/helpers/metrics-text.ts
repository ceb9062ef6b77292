/**
 * The value of one series on a /metrics page (Prometheus text), or undefined when the page does not
 * show it: `labels` as the page writes them, e.g. `door="pair",reason="misses_5m"`.
 */
export function series(body: string, name: string, labels: string): number | undefined {
  const line = body.split('\n').find((candidate) => candidate.startsWith(`${name}{${labels}} `));
  return line === undefined ? undefined : Number(line.slice(line.lastIndexOf(' ') + 1));
}

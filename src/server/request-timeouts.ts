/**
 * Node's HTTP server options that bound how long a client may take to send a request. Fastify's
 * default turns Node's request timeout off, which lets a client hold a connection open forever by
 * sending a body a byte at a time (slowloris). Node finds late requests only when it checks (every
 * 30 s by default), so a request may run over by up to the time between checks: they are made
 * every tenth of the timeout, at most every second, so the timeout holds within 10% (30 s is
 * enforced by 31 s; a quarter of it let 30 s run to 37.5). A check walks only the connections with
 * a request under way, so once a second costs nothing worth saving (the 100 ms floor, a tenth of
 * the smallest timeout the configuration allows, only guards the arithmetic).
 * Answers are not bounded: long-polls and event streams last as long as they need.
 */
export function requestTimeouts(seconds: number): { requestTimeout: number; http: { headersTimeout: number; connectionsCheckingInterval: number } } {
  const requestTimeout = seconds * 1000;
  return {
    requestTimeout,
    http: {
      headersTimeout: Math.min(requestTimeout, 60_000),
      connectionsCheckingInterval: Math.min(1_000, Math.max(100, Math.floor(requestTimeout / 10))),
    },
  };
}

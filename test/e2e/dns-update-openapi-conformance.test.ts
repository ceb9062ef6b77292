import { request as httpsRequest } from 'node:https';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BoxIdentity } from '../../src/doors/registry/box-identity.js';
import type { DnsRuntime } from '../../src/doors/dns/dns-door.js';
import type { TestApp } from '../helpers/app.js';
import { createDnsApp, newBox, ZONE } from '../doors/dns/dns-helpers.js';

/**
 * The DNS update API listens on a port of its own (HTTPS with client certificates) and documents
 * itself at its own /docs/json, which the main conformance test (openapi-conformance.test.ts) does
 * not see. Here every answer it gives to a sweep of requests (anonymous, its owner, another box,
 * bad paths, bodies and queries, past its rate limit) must be a status its operation documents,
 * with a content type documented for that status.
 */

/** One answer of the listener. */
interface Answer {
  method: string;
  path: string;
  status: number;
  contentType: string;
  body: string;
}

interface DocResponse {
  content?: Record<string, unknown>;
}
interface OpenApi {
  paths: Record<string, Record<string, { responses?: Record<string, DocResponse> }>>;
}

/** What the router answers before any route is chosen (unknown path; a body refused before routing). */
const ROUTER_STATUSES = new Set([400, 404, 413, 414, 415]);

/** The PATH of `/v1/dns/{*}`-style document paths as a pattern for request paths. */
function pathPattern(documentPath: string): RegExp {
  const escaped = documentPath.replace(/[.+?^$()|[\]\\]/g, '\\$&');
  return new RegExp(`^${escaped.replace(/\\?\{\*\}|\*/g, '.*').replace(/\{[^}]+\}/g, '[^/]+')}$`);
}

describe('DNS update API: every answer is documented in its own OpenAPI document', () => {
  let t: TestApp;
  let runtime: DnsRuntime;
  let mine: BoxIdentity;
  let other: BoxIdentity;
  const answers: Answer[] = [];

  /** Sends a request to the update listener, with `box`'s certificate when given. */
  function send(method: string, path: string, options: { box?: BoxIdentity; body?: string; contentType?: string } = {}): Promise<Answer> {
    return new Promise((resolve, reject) => {
      const req = httpsRequest(`${runtime.updateApi!.url}${path}`, {
        method,
        ca: runtime.updateCertPem,
        agent: false,
        ...(options.box ? { key: options.box.keyPem, cert: options.box.certPem } : {}),
        headers: { accept: 'application/json', ...(options.body !== undefined ? { 'content-type': options.contentType ?? 'application/json' } : {}) },
      }, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (body += chunk));
        res.on('end', () => {
          const answer = { method, path, status: res.statusCode ?? 0, contentType: String(res.headers['content-type'] ?? '').split(';')[0]!.trim(), body };
          answers.push(answer);
          resolve(answer);
        });
      });
      req.on('error', reject);
      req.end(options.body);
    });
  }

  beforeAll(async () => {
    ({ t, runtime } = await createDnsApp({ PAIRGATE_DNS_UPDATES_PER_MINUTE: '60', PAIRGATE_DNS_MAX_RECORDS_PER_BOX: '3' }));
    mine = await newBox('mine');
    other = await newBox('other');
  });
  afterAll(async () => {
    await t?.close();
  });

  it('a sweep of requests, then past the rate limit: no status and no content type the document does not list', async () => {
    const zonePath = ZONE.split('.').reverse().join('/');
    const own = `/v1/dns/${zonePath}/${mine.fingerprint}/local`;
    const others = `/v1/dns/${zonePath}/${other.fingerprint}/local`;
    const record = JSON.stringify({ type: 'A', value: '192.168.1.20' });

    for (const method of ['GET', 'POST', 'DELETE']) {
      const body = method === 'POST' ? record : undefined;
      await send(method, own, { body }); // no certificate
      await send(method, others, { box: mine, body }); // another box's name
      await send(method, `/v1/dns/org/example/${mine.fingerprint}`, { box: mine, body }); // outside the zone
      await send(method, `/v1/dns/${zonePath}/${mine.fingerprint}/bad_label!`, { box: mine, body }); // not a DNS name
      await send(method, `/v1/dns/${'a/'.repeat(200)}x`, { box: mine, body }); // path too long
    }
    // The owner: set, read, delete, and every kind of wrong body or query.
    expect((await send('POST', own, { box: mine, body: record })).status).toBe(200);
    expect((await send('GET', own, { box: mine })).status).toBe(200);
    await send('POST', own, { box: mine, body: '{"type":' });
    await send('POST', own, { box: mine, body: JSON.stringify({ type: 'MX', value: 'x' }) });
    await send('POST', own, { box: mine, body: JSON.stringify({ type: 'A', value: 'not an address' }) });
    await send('POST', own, { box: mine, body: JSON.stringify({ type: 'A', value: '192.168.1.21', ttl: 1 }) });
    await send('POST', own, { box: mine, body: JSON.stringify({ type: 'A', value: '192.168.1.21', extra: true }) });
    const plain = await send('POST', own, { box: mine, body: 'type=A', contentType: 'text/plain' });
    // This listener reads JSON alone: its 415 says so (the main app's offers a form too).
    expect({ status: plain.status, body: JSON.parse(plain.body) as unknown }).toEqual({ status: 415, body: { error: 'unsupported_media_type', message: 'This content type is not accepted; send JSON (content-type: application/json).' } });
    const form = await send('POST', own, { box: mine, body: 'type=A', contentType: 'application/x-www-form-urlencoded' });
    expect(form.status).toBe(415);
    await send('POST', own, { box: mine, body: JSON.stringify({ type: 'TXT', value: 'x'.repeat(900) }).repeat(12) });
    for (let i = 0; i < 4; i++) await send('POST', own, { box: mine, body: JSON.stringify({ type: 'TXT', value: `note ${i}` }) }); // past the records per box
    await send('DELETE', `${own}?type=MX`, { box: mine });
    expect((await send('DELETE', `${own}?type=A`, { box: mine })).status).toBe(200);
    // The registry's mutual-TLS route on this listener, and paths nobody serves.
    await send('POST', '/register', { body: '{}' });
    await send('POST', '/register', { box: mine, body: '{"nope":' });
    await send('POST', '/register', { box: mine, body: JSON.stringify({ fingerprint: mine.fingerprint, local_origin: 'https://192.168.1.20' }) });
    await send('GET', '/nothing-here', { box: mine });
    // Past the rate limit (60 a minute for this address).
    let limited: Answer | undefined;
    for (let i = 0; i < 80 && !limited; i++) {
      const answer = await send('GET', own, { box: mine });
      if (answer.status === 429) limited = answer;
    }
    expect(limited?.status).toBe(429);

    const document = JSON.parse((await send('GET', '/docs/json')).body) as OpenApi;
    const operations = Object.entries(document.paths).map(([path, methods]) => ({ pattern: pathPattern(path), methods }));
    const problems = new Set<string>();
    for (const answer of answers) {
      if (answer.path === '/docs/json') continue;
      const operation = operations.find((candidate) => candidate.pattern.test(answer.path.split('?')[0]!))?.methods[answer.method.toLowerCase()];
      if (!operation) {
        if (!ROUTER_STATUSES.has(answer.status)) problems.add(`(no operation) ${answer.method} ${answer.path.slice(0, 60)} -> ${answer.status}`);
        continue;
      }
      const documented = operation.responses?.[String(answer.status)];
      if (!documented) {
        problems.add(`${answer.method} ${answer.path.slice(0, 60)} -> ${answer.status} (documents ${Object.keys(operation.responses ?? {}).join(', ')}): ${answer.body.slice(0, 120)}`);
        continue;
      }
      const types = Object.keys(documented.content ?? {});
      if (answer.body !== '' && types.length > 0 && !types.includes(answer.contentType)) {
        problems.add(`${answer.method} ${answer.path.slice(0, 60)} -> ${answer.status} answered ${answer.contentType}, documents ${types.join(', ')}`);
      }
    }
    expect([...problems]).toEqual([]);
  }, 60_000);
});

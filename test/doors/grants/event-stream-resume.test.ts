import { describe, expect, it } from 'vitest';
import { readEventStream } from '../../helpers/event-stream.js';
import { useListeningApp } from '../../helpers/app.js';

/**
 * The grant's event stream as EventSource uses it: each `state` event carries the grant's version
 * as its `id:`, and a reconnection sending `Last-Event-ID` resumes after it. Without that, a
 * browser reconnected about 3 s after the stream ended on a final state, was sent that state
 * again, then the end, and so on for as long as the grant lived.
 */
describe('GET /api/v1/grants/:id/events: event ids and Last-Event-ID', () => {
  const server = useListeningApp();

  const post = (path: string, body: unknown): Promise<Response> =>
    fetch(`${server.base}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const createGrant = async () => (await (await post('/api/v1/grants', { label: 'resume' })).json()) as { id: string; code: string; secret: string };
  const events = (id: string, lastEventId?: string, method = 'GET') =>
    fetch(`${server.base}/api/v1/grants/${id}/events`, { method, headers: lastEventId === undefined ? {} : { 'last-event-id': lastEventId } });


  it('each state event carries the version as its id', async () => {
    const grant = await createGrant();
    const stream = await events(grant.id);
    const reader = readEventStream(stream, '"state":"approved"');
    await expect.poll(async () => (await post(`/api/v1/codes/${grant.code}/approve`, {})).status).toBe(200);
    const text = await reader;
    expect(text).toContain('id: 1\nevent: state\ndata: {"id"');
    expect(text).toContain('id: 2\nevent: state\ndata: {"id"');
    expect(text).toMatch(/id: 2\nevent: state\ndata: \{[^\n]*"state":"approved"[^\n]*"version":2/);
  });

  it('a reconnection naming the final state it has is answered 204, which ends EventSource; one naming an older version gets the final state and the end', async () => {
    const grant = await createGrant();
    expect((await post(`/api/v1/codes/${grant.code}/refuse`, {})).status).toBe(200);
    const ended = await events(grant.id, '2');
    expect(ended.status).toBe(204);
    expect(await ended.text()).toBe('');
    expect(ended.headers.get('cache-control')).toBe('no-store');
    expect((await events(grant.id, '2', 'HEAD')).status).toBe(204);

    const older = await events(grant.id, '1');
    expect(older.status).toBe(200);
    const text = await readEventStream(older);
    expect(text).toBe(`id: 2\nevent: state\ndata: ${JSON.stringify(await (await fetch(`${server.base}/api/v1/grants/${grant.id}`)).json())}\n\n`);
  });

  it('a reconnection while pending is not sent the state it has again, and gets the next change', async () => {
    const grant = await createGrant();
    const stream = await events(grant.id, '1');
    expect(stream.status).toBe(200);
    const reader = readEventStream(stream, '"state":"approved"');
    // Approved only once the stream has taken its place, so the approval is a change it waits for.
    await expect.poll(async () => Number(/^pairgate_waiting_clients (\d+)$/m.exec((await server.t.app.inject('/metrics')).body)?.[1])).toBe(1);
    expect((await post(`/api/v1/codes/${grant.code}/approve`, {})).status).toBe(200);
    const text = await reader;
    expect(text).not.toContain('"state":"pending"');
    expect(text).toContain('id: 2\nevent: state\n');
  });

  it('a Last-Event-ID that is not the version the grant is at, or not a version, is ignored: the grant is sent as it is', async () => {
    const grant = await createGrant();
    expect((await post(`/api/v1/codes/${grant.code}/approve`, {})).status).toBe(200);
    expect((await post(`/api/v1/grants/${grant.id}/redeem`, { secret: grant.secret })).status).toBe(200);
    for (const lastEventId of ['7', 'abc', '', '3.0', '-3', '99999999999999999999']) {
      const answer = await events(grant.id, lastEventId);
      expect(answer.status, lastEventId).toBe(200);
      expect(await readEventStream(answer), lastEventId).toMatch(/^id: 3\nevent: state\ndata: \{[^\n]*"state":"redeemed"/);
    }
  });

  it('the OpenAPI document describes the header, the ids and the 204', async () => {
    const operation = (await server.t.app.inject('/docs/json')).json().paths['/api/v1/grants/{id}/events'].get;
    expect(operation.parameters.find((parameter: { in: string; name: string }) => parameter.in === 'header' && parameter.name === 'last-event-id')).toBeDefined();
    expect(operation.responses['200'].description).toContain('`id:`');
    expect(operation.responses['204'].description).toContain('Last-Event-ID');
  });
});

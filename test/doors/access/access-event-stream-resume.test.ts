import { describe, expect, it } from 'vitest';
import { readEventStream } from '../../helpers/event-stream.js';
import { authRequest, postJson, useRegisteredUser } from './form-client.js';

/**
 * The access door's event stream as EventSource uses it, over real sockets: each `state` event
 * carries the request's version as its `id:`, and a reconnection sending `Last-Event-ID` resumes
 * after it. The stream ends once the request is decided, and EventSource reconnects ~3 s after
 * any end: without ids it was sent the decision again and the end, every 3 s, until the request
 * was gone. A decision's delivery also changes the request (its short life starts, a new
 * version): the id sent must be the version after that change, or the first reconnection names
 * an older one and gets the decision a second time.
 */
describe('GET /access/:key/events: event ids and Last-Event-ID', () => {
  const served = useRegisteredUser('resume-reader', { PAIRGATE_SCRYPT_COST: '10' });

  const create = async (app: string): Promise<string> => String((await postJson(`${served.base}/access`, authRequest({ requestingAppId: app }))).body.key);
  const events = (key: string, lastEventId?: string, method = 'GET'): Promise<Response> =>
    fetch(`${served.base}/access/${key}/events`, { method, headers: lastEventId === undefined ? {} : { 'last-event-id': lastEventId } });


  /** The `id:` of each event in `text`, in order. */
  const ids = (text: string): string[] => [...text.matchAll(/^id: (\d+)\nevent: state\n/gm)].map((match) => match[1]!);

  const waitingClients = async (): Promise<number> => Number(/^pairgate_waiting_clients (\d+)$/m.exec((await served.t.app.inject('/metrics')).body)?.[1]);

  it('streams NEED_SIGNIN then ACCEPTED with ids; the reconnection naming the last id is answered 204, not sent the decision again', async () => {
    const key = await create('resume-accept-app');
    const stream = await events(key);
    expect(stream.status).toBe(200);
    const reading = readEventStream(stream);
    await expect.poll(waitingClients).toBeGreaterThanOrEqual(1);
    await served.user.decide(key, 'accept');
    const text = await reading;
    expect(text).toMatch(/^id: \d+\nevent: state\ndata: \{[^\n]*"status":"NEED_SIGNIN"/);
    expect(text).toMatch(/id: \d+\nevent: state\ndata: \{[^\n]*"status":"ACCEPTED"[^\n]*"token":/);
    const [pending, decided] = ids(text).map(Number);
    expect(decided).toBeGreaterThan(pending!);

    // What EventSource does ~3 s after the end: the id it last had, as Last-Event-ID.
    const again = await events(key, String(decided));
    expect(again.status).toBe(204);
    expect(await again.text()).toBe('');
    expect(again.headers.get('access-control-allow-origin')).toBe('*');
    expect((await events(key, String(decided), 'HEAD')).status).toBe(204);
  });

  it('a stream opened on a decision already made: its one event\'s id, sent back, is answered 204 (a refusal too)', async () => {
    const key = await create('resume-refuse-app');
    await served.user.decide(key, 'refuse');
    const text = await readEventStream(await events(key));
    expect(text).toContain('"status":"REFUSED"');
    expect(ids(text)).toHaveLength(1);
    expect((await events(key, ids(text)[0])).status).toBe(204);
  });

  it('a reconnection naming the pending state gets the decision it has not seen, once, then the end', async () => {
    const key = await create('resume-missed-app');
    const first = await readEventStream(await events(key), '"status":"NEED_SIGNIN"');
    const [pending] = ids(first);
    await served.user.decide(key, 'accept');
    const text = await readEventStream(await events(key, pending));
    expect(text).not.toContain('NEED_SIGNIN');
    expect(ids(text)).toHaveLength(1);
    expect(text).toContain('"status":"ACCEPTED"');
    expect((await events(key, ids(text)[0])).status).toBe(204);
  });

  it('a reconnection while pending is not sent the state it has again, and gets the decision', async () => {
    const key = await create('resume-pending-app');
    const [pending] = ids(await readEventStream(await events(key), '"status":"NEED_SIGNIN"'));
    const stream = await events(key, pending);
    expect(stream.status).toBe(200);
    const reading = readEventStream(stream);
    await expect.poll(waitingClients).toBeGreaterThanOrEqual(1);
    await served.user.decide(key, 'accept');
    const text = await reading;
    expect(text).not.toContain('NEED_SIGNIN');
    expect(text).toContain('"status":"ACCEPTED"');
  });

  it('a Last-Event-ID that is not the version the request is at, or not a version, is ignored', async () => {
    const key = await create('resume-ignored-app');
    await served.user.decide(key, 'refuse');
    for (const lastEventId of ['999', 'abc', '', '1.0', '-1']) {
      const answer = await events(key, lastEventId);
      expect(answer.status, lastEventId).toBe(200);
      expect(await readEventStream(answer), lastEventId).toMatch(/^id: \d+\nevent: state\ndata: \{[^\n]*"status":"REFUSED"/);
    }
  });

  it('the preflight lets a page send Last-Event-ID; the OpenAPI document describes the header, the ids and the 204', async () => {
    const key = await create('resume-docs-app');
    const preflight = await fetch(`${served.base}/access/${key}/events`, { method: 'OPTIONS', headers: { origin: 'https://app.example', 'access-control-request-method': 'GET', 'access-control-request-headers': 'last-event-id' } });
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get('access-control-allow-headers')).toContain('last-event-id');
    const operation = (await served.t.app.inject('/docs/json')).json().paths['/access/{key}/events'].get;
    expect(operation.parameters.find((parameter: { in: string; name: string }) => parameter.in === 'header' && parameter.name === 'last-event-id')).toBeDefined();
    expect(operation.responses['200'].description).toContain('`id:`');
    expect(operation.responses['204'].description).toContain('Last-Event-ID');
  });
});

import type { FastifyInstance } from 'fastify';
import type { DoorContext } from '../door.js';
import type { Announcements } from './announcements.js';
import { publicNetworkOf } from '../../server/public-network.js';
import type { Announcement } from './schemas.js';

/** A box as the page shows it. */
export interface BoxLink {
  client: string;
  name: string;
  links: { label: string; href: string }[];
}

/** Only plain http(s) URLs become links: an announced `javascript:` URL stays text. */
function safeHref(value: unknown): string | undefined {
  if (typeof value !== 'string' || value.length > 500) return undefined;
  try {
    const url = new URL(value);
    return url.protocol === 'https:' || url.protocol === 'http:' ? url.href : undefined;
  } catch {
    return undefined;
  }
}

/** Reads the links out of an announcement's opaque message (JSON in the usual case). */
export function boxLinks(announcement: Announcement): BoxLink {
  let parsed: Record<string, unknown> = {};
  try {
    const value: unknown = JSON.parse(announcement.message);
    if (value && typeof value === 'object' && !Array.isArray(value)) parsed = value as Record<string, unknown>;
  } catch {
    // A message that is not JSON is shown as the box's name only.
  }
  const links: BoxLink['links'] = [];
  for (const [field, label] of [['local_origin', 'Connect (local)'], ['origin', 'Connect'], ['tunnel_origin', 'Connect (tunnel)']] as const) {
    const href = safeHref(parsed[field]);
    if (href) links.push({ label, href });
  }
  const name = typeof parsed.name === 'string' && parsed.name ? parsed.name.slice(0, 100) : `Box ${announcement.client.slice(0, 8)}`;
  return { client: announcement.client, name, links };
}

/** `GET /boxes`: the page listing the boxes on the visitor's public network (IPv4 address or IPv6 /64), with links to them. */
export function boxesPage(app: FastifyInstance, ctx: DoorContext, announcements: Announcements, ttlSeconds: number, perMinute: number): void {
  app.get('/boxes', {
    schema: { tags: ['registry'], summary: 'Page: the boxes behind your public IP, with links to them.', produces: ['text/html'] },
    config: { rateLimit: { max: perMinute, timeWindow: 60_000 } },
  }, async (request, reply) => {
    const boxes = (await announcements.list(request.ip, ctx.clock.now())).map(boxLinks);
    return ctx.pages.render(request, reply, 'registry/boxes.njk', { boxes, publicIp: publicNetworkOf(request.ip), ttlSeconds });
  });
}

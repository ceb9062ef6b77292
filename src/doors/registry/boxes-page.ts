import type { FastifyInstance } from 'fastify';
import { doorTranslator, pickLang, type Translate } from '../accounts/i18n.js';
import { frenchCatalogue } from '../accounts/french-spacing.js';
import { languageSwitch } from '../../web/page-language.js';
import { countWords } from '../../web/duration-words.js';
import type { DoorContext } from '../door.js';
import type { Announcements } from './announcements.js';
import { publicNetworkOf } from '../../server/public-network.js';
import { htmlPage } from '../../server/openapi-responses.js';
import { withoutUnshowableText } from '../shared/shown-text.js';
import type { Announcement } from './schemas.js';

/** The words of the boxes page. */
const en = {
  'boxes.title': 'Boxes on your network',
  'boxes.none': 'No box has announced itself behind your public address ({ip}) in the last {ttl}.',
  'boxes.noneHelp': 'Check that the box is on and connected, then reload this page.',
  'boxes.one': '1 box announced behind your public address ({ip}).',
  'boxes.many': '{count} boxes announced behind your public address ({ip}).',
  'boxes.fingerprint': 'Fingerprint',
  'boxes.fingerprintHelp': 'A box’s fingerprint is its identity: before you connect, check that it is the one your box shows. Another box behind your address could take a familiar name, never its fingerprint.',
  'boxes.noAddress': '(no address announced)',
  'boxes.unnamed': 'Box {id}',
  'link.local_origin': 'Connect (local)',
  'link.origin': 'Connect',
  'link.tunnel_origin': 'Connect (tunnel)',
} as const;

/** A message key of the boxes page. */
type BoxesKey = keyof typeof en;

// Written with plain spaces; frenchCatalogue makes those before : ; ? ! and inside « » no-break.
const fr = frenchCatalogue<BoxesKey>({
  'boxes.title': 'Boîtiers sur votre réseau',
  'boxes.none': 'Aucun boîtier ne s’est annoncé derrière votre adresse publique ({ip}) ces dernières {ttl}.',
  'boxes.noneHelp': 'Vérifiez que le boîtier est allumé et connecté, puis rechargez cette page.',
  'boxes.one': '1 boîtier annoncé derrière votre adresse publique ({ip}).',
  'boxes.many': '{count} boîtiers annoncés derrière votre adresse publique ({ip}).',
  'boxes.fingerprint': 'Empreinte',
  'boxes.fingerprintHelp': 'L’empreinte d’un boîtier est son identité : avant de vous connecter, vérifiez que c’est celle qu’affiche votre boîtier. Un autre boîtier derrière votre adresse pourrait prendre un nom familier, jamais son empreinte.',
  'boxes.noAddress': '(aucune adresse annoncée)',
  'boxes.unnamed': 'Boîtier {id}',
  'link.local_origin': 'Se connecter (local)',
  'link.origin': 'Se connecter',
  'link.tunnel_origin': 'Se connecter (tunnel)',
});

const BOXES_CATALOGUE = { en, fr };

/** The announcement fields that hold a box's addresses, in the order the page offers them. */
const ORIGIN_FIELDS = ['local_origin', 'origin', 'tunnel_origin'] as const;

/** A box as the page shows it. */
export interface BoxLink {
  client: string;
  name: string;
  links: { label: string; href: string }[];
}

/**
 * Only plain http(s) URLs become links: an announced `javascript:` URL stays text, and so does one
 * with a user name or password (`https://kitchen.local@evil.example/` goes to evil.example, while
 * a person reading the link where it is shown takes it for kitchen.local).
 */
function safeHref(value: unknown): string | undefined {
  if (typeof value !== 'string' || value.length > 500) return undefined;
  try {
    const url = new URL(value);
    if (url.username !== '' || url.password !== '') return undefined;
    return url.protocol === 'https:' || url.protocol === 'http:' ? url.href : undefined;
  } catch {
    return undefined;
  }
}

/** Reads the links out of an announcement's opaque message (JSON in the usual case), worded by `t` (English by default). */
export function boxLinks(announcement: Announcement, t: Translate = doorTranslator(BOXES_CATALOGUE, 'en')): BoxLink {
  let parsed: Record<string, unknown> = {};
  try {
    const value: unknown = JSON.parse(announcement.message);
    if (value && typeof value === 'object' && !Array.isArray(value)) parsed = value as Record<string, unknown>;
  } catch {
    // A message that is not JSON is shown as the box's name only.
  }
  const links: BoxLink['links'] = [];
  for (const field of ORIGIN_FIELDS) {
    const href = safeHref(parsed[field]);
    if (href) links.push({ label: t(`link.${field}`), href });
  }
  const name = shownName(parsed.name) || t('boxes.unnamed', { id: announcement.client.slice(0, 8) });
  return { client: announcement.client, name, links };
}

/** Longest box name shown, in characters. */
const MAX_SHOWN_NAME = 100;

/**
 * A box's name as the page shows it, or '' when it has none worth showing. The name is the box's
 * own words (Mozilla's message is opaque, so it cannot be refused), shown beside its fingerprint
 * to people deciding which box to trust: without its control and text-direction characters
 * (`withoutUnshowableText`), since an unterminated U+202E in it turned the fingerprint shown after
 * it around, and cut between characters, never inside a surrogate pair (shown as U+FFFD).
 */
function shownName(value: unknown): string {
  if (typeof value !== 'string') return '';
  return [...withoutUnshowableText(value)].slice(0, MAX_SHOWN_NAME).join('').trim();
}

/** `GET /boxes`: the page listing the boxes on the visitor's public network (IPv4 address or IPv6 /64), with links to them, in the visitor's language. */
export function boxesPage(app: FastifyInstance, ctx: DoorContext, announcements: Announcements, ttlSeconds: number, perMinute: number): void {
  app.get('/boxes', {
    schema: { tags: ['registry'], summary: 'Page: the boxes behind your public IP, with links to them.', produces: ['text/html'], response: { 200: htmlPage('The boxes announced behind your public IP, each with links to its addresses; a page that says so when there are none.') } },
    config: { rateLimit: { max: perMinute, timeWindow: 60_000 } },
  }, async (request, reply) => {
    const lang = pickLang(request);
    const t = doorTranslator(BOXES_CATALOGUE, lang);
    const boxes = (await announcements.list(request.ip, ctx.clock.now())).map((announcement) => boxLinks(announcement, t));
    const ttl = countWords({ count: ttlSeconds, unit: 'second' }, lang);
    return ctx.pages.render(request, reply, 'registry/boxes.njk', { ...languageSwitch(request, lang), t, boxes, publicIp: publicNetworkOf(request.ip), ttl });
  });
}

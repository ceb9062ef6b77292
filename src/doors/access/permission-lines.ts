import type { Permission } from './permissions.js';

/** A text's letters and digits, lower case: how a person compares a name with an id at a glance. */
function glanceForm(text: string): string {
  return text.normalize('NFKC').toLowerCase().replace(/[^\p{L}\p{N}]/gu, '');
}

/**
 * How a stream permission names its stream: the name the app gives it (`name`, else
 * `defaultName`), with the stream's id beside it when the two read differently. The app chooses
 * the name and the access is to the id, so a name alone (`{streamId: "health", name: "Notes"}`)
 * could show a person something other than what they hand over.
 */
function streamLabel(streamId: string, name: string | undefined, t: (key: string, params?: Record<string, unknown>) => string): string {
  if (name === undefined || glanceForm(name) === glanceForm(streamId)) return name ?? streamId;
  return t('perm.stream', { name, streamId });
}

/**
 * One line per permission for people: "read Diary", "manage Notes (stream "health")",
 * "manage all data", "cannot use: selfRevoke".
 */
export function permissionLines(permissions: readonly Permission[], t: (key: string, params?: Record<string, unknown>) => string): string[] {
  return permissions.map((p) => {
    if ('feature' in p) return t('perm.feature', { feature: p.feature });
    if ('tag' in p) return `${t(`level.${p.level}`)} ${t('perm.tag', { tag: p.tag })}`;
    return `${t(`level.${p.level}`)} ${p.streamId === '*' ? t('perm.all') : streamLabel(p.streamId, p.name ?? p.defaultName, t)}`;
  });
}

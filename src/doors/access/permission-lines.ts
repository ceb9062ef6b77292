import type { Permission } from './permissions.js';

/** One line per permission for people: "read Diary", "manage all data", "cannot use: selfRevoke". */
export function permissionLines(permissions: readonly Permission[], t: (key: string, params?: Record<string, unknown>) => string): string[] {
  return permissions.map((p) => {
    if ('feature' in p) return t('perm.feature', { feature: p.feature });
    if ('tag' in p) return `${t(`level.${p.level}`)} ${t('perm.tag', { tag: p.tag })}`;
    return `${t(`level.${p.level}`)} ${p.streamId === '*' ? t('perm.all') : (p.name ?? p.defaultName ?? p.streamId)}`;
  });
}

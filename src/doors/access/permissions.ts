import { Type, type Static } from 'typebox';
import { InvalidRequestError } from '../../core/errors.js';

/**
 * Permissions of an app access, in Pryv's shapes: a stream `{streamId, level, defaultName?, name?}`
 * (`*` = all data), a tag `{tag, level}`, or a forbidden feature `{feature, setting: "forbidden"}`.
 */

/** Access levels, weakest first. */
export const LEVELS = ['read', 'create-only', 'contribute', 'manage'] as const;
/** One of LEVELS. */
export type Level = (typeof LEVELS)[number];

/** A permission as it arrives on the wire (one object schema, checked further by `parsePermissions`). */
export const PermissionSchema = Type.Object(
  {
    streamId: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
    tag: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
    feature: Type.Optional(Type.String({ minLength: 1, maxLength: 100 })),
    level: Type.Optional(Type.Enum([...LEVELS], { description: 'read | contribute | manage | create-only' })),
    setting: Type.Optional(Type.Enum(['forbidden'])),
    defaultName: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
    name: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
  },
  { additionalProperties: false, description: '{streamId, level, defaultName?, name?} | {tag, level} | {feature, setting: "forbidden"}' },
);
/** The wire shape. */
export type PermissionInput = Static<typeof PermissionSchema>;

/** A stream permission. */
export interface StreamPermission { streamId: string; level: Level; defaultName?: string; name?: string }
/** A tag permission. */
export interface TagPermission { tag: string; level: Level }
/** A forbidden feature. */
export interface FeaturePermission { feature: string; setting: 'forbidden' }
/** Any permission. */
export type Permission = StreamPermission | TagPermission | FeaturePermission;

/** Checks each entry has exactly one subject and the fields that go with it; throws a 400 naming the entry. */
export function parsePermissions(input: readonly PermissionInput[]): Permission[] {
  return input.map((entry, index) => {
    const where = `requestedPermissions[${index}]`;
    const subjects = [entry.streamId, entry.tag, entry.feature].filter((value) => value !== undefined).length;
    if (subjects !== 1) throw new InvalidRequestError(`${where} must have exactly one of streamId, tag or feature.`, { field: where }, 'invalid_permissions');
    if (entry.feature !== undefined) {
      if (entry.setting !== 'forbidden' || entry.level !== undefined) throw new InvalidRequestError(`${where}: a feature permission is {feature, setting: "forbidden"}.`, { field: where }, 'invalid_permissions');
      return { feature: entry.feature, setting: 'forbidden' };
    }
    if (entry.level === undefined) throw new InvalidRequestError(`${where}: "level" is required (read, contribute, manage or create-only).`, { field: where }, 'invalid_permissions');
    if (entry.setting !== undefined) throw new InvalidRequestError(`${where}: "setting" belongs to feature permissions only.`, { field: where }, 'invalid_permissions');
    if (entry.tag !== undefined) {
      if (entry.name !== undefined || entry.defaultName !== undefined) throw new InvalidRequestError(`${where}: a tag permission is {tag, level}.`, { field: where }, 'invalid_permissions');
      return { tag: entry.tag, level: entry.level };
    }
    const stream: StreamPermission = { streamId: entry.streamId!, level: entry.level };
    if (entry.defaultName !== undefined) stream.defaultName = entry.defaultName;
    if (entry.name !== undefined) stream.name = entry.name;
    return stream;
  });
}

/** The identity of a permission for matching: what it grants, not how it is named. */
function permissionKey(permission: Permission): string {
  if ('feature' in permission) return JSON.stringify(['feature', permission.feature, permission.setting]);
  if ('tag' in permission) return JSON.stringify(['tag', permission.tag, permission.level]);
  return JSON.stringify(['stream', permission.streamId, permission.level]);
}

/**
 * The requested permissions, corrected as the seed's checkAccess does: duplicates dropped, and each
 * stream given a display `name` (its `name`, else `defaultName`, else its id) that is unique in the
 * list (a repeated name gets " (2)", " (3)"...).
 */
export function checkPermissions(permissions: readonly Permission[]): Permission[] {
  const seen = new Set<string>();
  const names = new Set<string>();
  const checked: Permission[] = [];
  for (const permission of permissions) {
    const key = permissionKey(permission);
    if (seen.has(key)) continue;
    seen.add(key);
    if ('streamId' in permission) {
      const base = permission.name ?? permission.defaultName ?? permission.streamId;
      let name = base;
      for (let n = 2; names.has(name); n++) name = `${base} (${n})`;
      names.add(name);
      checked.push({ ...permission, name });
    } else {
      checked.push({ ...permission });
    }
  }
  return checked;
}

/** True when two permission lists grant the same set, whatever the order, names or duplicates. */
export function samePermissions(a: readonly Permission[], b: readonly Permission[]): boolean {
  const left = new Set(a.map(permissionKey));
  const right = new Set(b.map(permissionKey));
  return left.size === right.size && [...left].every((key) => right.has(key));
}

/** A permission list as the space-separated OAuth `scope` of introspection (`read:diary tag:manage:x`). */
export function permissionsScope(permissions: readonly Permission[]): string {
  return permissions
    .map((p) => ('feature' in p ? `feature:${p.feature}:${p.setting}` : 'tag' in p ? `tag:${p.level}:${p.tag}` : `${p.level}:${p.streamId}`))
    .join(' ');
}

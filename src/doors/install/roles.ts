import { Type } from 'typebox';

/** Roles in an organization. */
export const ROLES = ['admin', 'member'] as const;
/** One of ROLES. */
export type Role = (typeof ROLES)[number];

/** Permissions a role may hold. */
export type Permission = 'integrations:write' | 'members:write' | 'links:write' | 'organization:delete';

/**
 * What each role may do. Admins set up chat installations, manage members and may delete the
 * organization; every member (admins included) may link their own chat account. Kept as data so a
 * new role is one line.
 */
const GRANTS: Record<Role, readonly Permission[]> = {
  admin: ['integrations:write', 'members:write', 'links:write', 'organization:delete'],
  member: ['links:write'],
};

/** Whether `role` holds `permission`. */
export function roleAllows(role: Role, permission: Permission): boolean {
  return GRANTS[role].includes(permission);
}

/** `value` when it names a role. */
export function isRole(value: unknown): value is Role {
  return typeof value === 'string' && (ROLES as readonly string[]).includes(value);
}

/** The TypeBox schema of a role. */
export const RoleSchema = Type.Union([Type.Literal('admin'), Type.Literal('member')]);

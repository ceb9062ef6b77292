/**
 * `next` when it is a path on this server (with its query), else undefined. A way back that pages
 * carry from one form to the next must never lead off the server: `//host`, a backslash (which
 * browsers read as a slash), another scheme, or dot segments that resolve into `//host` are refused.
 */
export function localPath(next: unknown): string | undefined {
  if (typeof next !== 'string' || !next.startsWith('/') || next.startsWith('//') || next.includes('\\')) return undefined;
  try {
    const url = new URL(next, 'http://local.invalid');
    if (url.origin !== 'http://local.invalid') return undefined;
    // Checked again after parsing: resolving dot segments turns `/.//evil` into `//evil`, which a
    // browser reads as another host.
    const path = `${url.pathname}${url.search}`;
    return path.startsWith('//') || path.includes('\\') ? undefined : path;
  } catch {
    return undefined;
  }
}

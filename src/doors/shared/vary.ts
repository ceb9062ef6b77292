import type { FastifyReply } from 'fastify';

/** Adds `header` to the reply's Vary, keeping what is there (a door may vary by Origin too). */
export function addVary(reply: FastifyReply, header: string): void {
  const current = reply.getHeader('vary');
  const listed = (Array.isArray(current) ? current.join(',') : String(current ?? '')).split(',').map((name) => name.trim()).filter(Boolean);
  if (listed.includes('*') || listed.some((name) => name.toLowerCase() === header.toLowerCase())) return;
  reply.header('vary', [...listed, header].join(', '));
}

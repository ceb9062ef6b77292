import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/** The mails the server wrote to its outbox folder (no SMTP configured), oldest first. */
export function outboxMails(dataDir: string): string[] {
  try {
    return readdirSync(join(dataDir, 'outbox')).sort().map((name) => readFileSync(join(dataDir, 'outbox', name), 'utf8'));
  } catch {
    return [];
  }
}

/** The reset token of a reset mail (quoted-printable soft breaks undone). */
export function resetToken(mail: string): string {
  const unfolded = mail.replace(/=\r?\n/g, '').replace(/=3D/g, '=');
  const match = /\/account\/reset\/confirm\?token=([A-Za-z0-9_-]+)&/.exec(unfolded);
  if (!match) throw new Error(`no reset link in ${mail}`);
  return match[1]!;
}

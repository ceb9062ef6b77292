import { createServer } from 'node:net';
import { explainListenError, type Listener } from './listen-errors.js';

/**
 * Listens on `host`:`port` for a moment and stops, so that an address the server cannot listen on
 * (a port another program holds, one that needs privileges, a host not of this machine) stops the
 * start before it makes anything: `serve` made the data folder, a new database in it and the folder
 * of copies, and built the app (whose first copy of the database then ran), before the real listen
 * failed, so a mistyped `--data-dir` beside a port taken left a folder and an empty database behind.
 *
 * Rejects with the error `explainListenError` words for `listener`. A port taken between this
 * check and the real listen is still refused there, in the same words.
 */
export async function probeListen(host: string, port: number, listener: Listener): Promise<void> {
  const probe = createServer();
  try {
    await new Promise<void>((resolve, reject) => {
      probe.once('error', reject);
      probe.listen({ host, port }, () => resolve());
    });
  } catch (error) {
    throw explainListenError(error, { ...listener, host, port });
  } finally {
    // Nothing connected in that moment has been accepted by the server: closing drops it.
    await new Promise<void>((resolve) => (probe.listening ? probe.close(() => resolve()) : resolve()));
  }
}

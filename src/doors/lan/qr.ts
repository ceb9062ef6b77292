import QRCode from 'qrcode';
import { writePrivateFile } from './private-file.js';

/** QR codes of a connection string: for the terminal, and as PNG or SVG files. */

/** The QR code as text for a terminal (half-block characters, so it stays small). */
export async function qrForTerminal(text: string): Promise<string> {
  return QRCode.toString(text, { type: 'terminal', small: true, errorCorrectionLevel: 'M' });
}

/**
 * Writes the QR code to `path` as PNG or SVG (from `format`, or the file's extension), mode 0600:
 * it holds the secret, and whoever reads it while the offer waits can pair in the intended
 * device's place.
 */
export async function writeQrFile(path: string, text: string, format?: 'png' | 'svg'): Promise<void> {
  const type = format ?? (path.toLowerCase().endsWith('.svg') ? 'svg' : 'png');
  const image = type === 'svg'
    ? await QRCode.toString(text, { type: 'svg', errorCorrectionLevel: 'M', margin: 2 })
    : await QRCode.toBuffer(text, { type: 'png', errorCorrectionLevel: 'M', margin: 2 });
  writePrivateFile(path, image);
}

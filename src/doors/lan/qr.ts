import QRCode from 'qrcode';

/** QR codes of a connection string: for the terminal, and as PNG or SVG files. */

/** The QR code as text for a terminal (half-block characters, so it stays small). */
export async function qrForTerminal(text: string): Promise<string> {
  return QRCode.toString(text, { type: 'terminal', small: true, errorCorrectionLevel: 'M' });
}

/** Writes the QR code to `path` as PNG or SVG (from `format`, or the file's extension). */
export async function writeQrFile(path: string, text: string, format?: 'png' | 'svg'): Promise<void> {
  const type = format ?? (path.toLowerCase().endsWith('.svg') ? 'svg' : 'png');
  await QRCode.toFile(path, text, { type, errorCorrectionLevel: 'M', margin: 2 });
}

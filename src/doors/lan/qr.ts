import QRCode from 'qrcode';
import { writePrivateFile } from './private-file.js';

/** QR codes of a connection string: for the terminal, and as PNG or SVG files. */

/**
 * Light modules around the code in the terminal. The standard asks for 4; the qrcode library's
 * small terminal drawing gives 1, and on a dark terminal a camera then hardly tells the code from
 * the background around it. 2 is what scanners need in practice and keeps the code narrow (an even
 * number, so the half-block rows stay aligned).
 */
export const TERMINAL_QUIET_ZONE = 2;

const LIGHT_BACKGROUND_DARK_TEXT = '\x1b[47m\x1b[30m';
const RESET = '\x1b[0m';

/**
 * The QR code as text for a terminal: half-block characters (two modules per character, so it
 * stays small), dark modules in black on a white background whatever the terminal's colours,
 * with a quiet zone of `TERMINAL_QUIET_ZONE` modules. `colours: false` leaves the colour codes out,
 * for output that is not a terminal (a file, a pipe), where they would be stray escape bytes.
 */
export async function qrForTerminal(text: string, options: { colours?: boolean } = {}): Promise<string> {
  const [before, after] = options.colours === false ? ['', ''] : [LIGHT_BACKGROUND_DARK_TEXT, RESET];
  const { modules } = QRCode.create(text, { errorCorrectionLevel: 'M' });
  const size = modules.size;
  const dark = (x: number, y: number) => x >= 0 && y >= 0 && x < size && y < size && modules.data[y * size + x] === 1;
  const lines: string[] = [];
  for (let y = -TERMINAL_QUIET_ZONE; y < size + TERMINAL_QUIET_ZONE; y += 2) {
    let line = '';
    for (let x = -TERMINAL_QUIET_ZONE; x < size + TERMINAL_QUIET_ZONE; x++) {
      const top = dark(x, y);
      const bottom = dark(x, y + 1);
      line += top && bottom ? '█' : top ? '▀' : bottom ? '▄' : ' ';
    }
    lines.push(`${before}${line}${after}`);
  }
  return lines.join('\n');
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

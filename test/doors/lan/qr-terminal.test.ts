import QRCode from 'qrcode';
import { describe, expect, it } from 'vitest';
import { qrForTerminal, TERMINAL_QUIET_ZONE } from '../../../src/doors/lan/qr.js';

/**
 * The QR code `lan offer` draws in the terminal must scan from a phone: exactly the code's modules,
 * dark on light whatever the terminal's colours, and light modules around it (the quiet zone a
 * camera needs to find it; the qrcode library's small drawing gave 1, lost on a dark terminal).
 */

// eslint-disable-next-line no-control-regex
const ANSI = /\x1b\[[0-9;]*m/g;

/** The modules drawn: each character is two (top, bottom) of one column. */
function modulesDrawn(drawing: string): boolean[][] {
  const rows: boolean[][] = [];
  for (const line of drawing.split('\n')) {
    const chars = [...line.replace(ANSI, '')];
    rows.push(chars.map((c) => c === '█' || c === '▀'), chars.map((c) => c === '█' || c === '▄'));
  }
  return rows;
}

describe('lan offer: the QR code in the terminal', () => {
  const text = 'pg1:BAoAAAI:h-E:yxFkQ0p4gUj6o9u3tOqM9cVt2wYJ8H0r5Jj8bBvV1kA:B9QmkWJtqz8vN0cXlS9oFq7pX3rYd2aMhL4eGw6uT1I:VnXo2kq9a1xLmP0sR7tYbA:bGFwdG9w';

  it('draws exactly the code, with a quiet zone of at least 2 light modules on every side', async () => {
    const drawing = await qrForTerminal(text);
    const { modules } = QRCode.create(text, { errorCorrectionLevel: 'M' });
    const size = modules.size;
    const drawn = modulesDrawn(drawing);
    const q = TERMINAL_QUIET_ZONE;
    expect(q).toBeGreaterThanOrEqual(2);
    expect(drawn[0]!.length).toBe(size + 2 * q);
    expect(drawn.length).toBeGreaterThanOrEqual(size + 2 * q);
    for (let y = 0; y < drawn.length; y++) {
      for (let x = 0; x < drawn[y]!.length; x++) {
        const inside = x >= q && y >= q && x < size + q && y < size + q;
        const expected = inside ? modules.data[(y - q) * size + (x - q)] === 1 : false;
        expect(drawn[y]![x], `module (${x - q}, ${y - q})`).toBe(expected);
      }
    }
  });

  it('sets its own colours on every line (black on white), so a dark terminal theme does not invert it', async () => {
    for (const line of (await qrForTerminal(text)).split('\n')) {
      expect(line.startsWith('\x1b[47m\x1b[30m')).toBe(true);
      expect(line.endsWith('\x1b[0m')).toBe(true);
    }
  });

  it('leaves the colour codes out when asked (output that is not a terminal), drawing the same modules', async () => {
    const plain = await qrForTerminal(text, { colours: false });
    expect(plain).not.toContain('\x1b');
    expect(plain).toBe((await qrForTerminal(text)).replace(ANSI, ''));
  });
});

import { afterEach, describe, expect, it, vi } from 'vitest';
import { progressBar } from '../../src/cli/commands/lan-cli-support.js';

describe('the lan transfer progress bar on a terminal', () => {
  const wasTTY = process.stderr.isTTY;
  afterEach(() => {
    vi.restoreAllMocks();
    process.stderr.isTTY = wasTTY;
  });

  it('keeps redrawing after the wall clock is stepped back (it froze for as long as the step)', async () => {
    process.stderr.isTTY = true;
    const drawn: string[] = [];
    vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => (drawn.push(String(chunk)), true));
    const wall = vi.spyOn(Date, 'now').mockReturnValue(1_700_000_000_000);
    const progress = progressBar();
    progress('send', 1, 10, 'photo.jpg');
    expect(drawn).toHaveLength(1);
    // A redraw within 200 ms is skipped...
    progress('send', 2, 10, 'photo.jpg');
    expect(drawn).toHaveLength(1);
    // ...and one 250 ms later is drawn, though NTP has just put the wall clock an hour back.
    await new Promise((resolve) => setTimeout(resolve, 250));
    wall.mockReturnValue(1_700_000_000_000 - 3_600_000);
    progress('send', 3, 10, 'photo.jpg');
    expect(drawn).toHaveLength(2);
    expect(drawn[1]).toContain('30%');
  });
});

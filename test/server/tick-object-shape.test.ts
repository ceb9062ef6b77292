import { spawn } from 'node:child_process';
import { closeSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { keepTickObjectShape, keptTickObject } from '../../src/server/tick-object-shape.js';
import { CLI, ensureBuilt } from '../helpers/node-process.js';

const FIXTURES = join(import.meta.dirname, 'fixtures');
/** Limits lifted, so that a few seconds of creations from one address are all served. */
const UNLIMITED = {
  PAIRGATE_RATE_LIMIT_MAX: '100000000',
  PAIRGATE_GRANTS_CREATE_PER_MINUTE: '100000000',
  PAIRGATE_MAX_LIVE_CODES: '10000000',
  PAIRGATE_GRANTS_MAX_LIVE_PER_IP: '10000000',
  PAIRGATE_BRUTE_FORCE_BUDGET: '1',
};

describe('keepTickObjectShape', () => {
  it('keeps one of the objects process.nextTick queues, and only one', () => {
    keepTickObjectShape();
    const kept = keptTickObject as Record<string | symbol, unknown> | undefined;
    expect(kept).toBeDefined();
    // Node's tick object: two symbol keys (its async ids), the callback and its arguments.
    expect(typeof kept!.callback).toBe('function');
    expect(Object.getOwnPropertySymbols(kept).length).toBe(2);
    keepTickObjectShape();
    expect(keptTickObject).toBe(kept);
  });
});

/**
 * Starts a server process under `node --allow-natives-syntax` with the feedback printer preloaded,
 * and a full collection every 200 ms (collect-often.cjs), sends it grant creations for `loadMs`,
 * then asks it (SIGUSR2) for the state of the feedback of nextTick's object literal: the four
 * DefineKeyedOwnPropertyInLiteral slots.
 */
async function literalFeedbackAfterLoad(script: string[], loadMs: number, dataDir: string): Promise<string[]> {
  mkdirSync(dataDir, { recursive: true });
  // V8 prints to the C library's stdout, which a pipe would leave partly unflushed when the process
  // exits: the output goes to a file, read once the process is gone.
  const outputFile = join(dataDir, 'stdout.txt');
  const output = openSync(outputFile, 'w');
  const child = spawn(process.execPath, ['--allow-natives-syntax', '--expose-gc', '-r', join(FIXTURES, 'print-tick-feedback.cjs'), '-r', join(FIXTURES, 'collect-often.cjs'), ...script], {
    env: { ...process.env, PAIRGATE_DATA_DIR: dataDir, PAIRGATE_PORT: '0', PAIRGATE_LOG_LEVEL: 'warn', ...UNLIMITED },
    stdio: ['ignore', output, 'inherit'],
  });
  closeSync(output);
  const exited = new Promise((resolve) => child.once('exit', resolve));
  try {
    const url = await listeningUrl(outputFile, exited);
    await createGrantsFor(url, loadMs);
    child.kill('SIGUSR2');
    await exited;
  } finally {
    child.kill('SIGKILL');
  }
  return [...readFileSync(outputFile, 'utf8').matchAll(/DefineKeyedOwnPropertyInLiteral (\w+)/g)].map((match) => match[1]!);
}

/** The URL of the `pairgate listening on` line once it is in `outputFile`; rejects if the process exits first. */
async function listeningUrl(outputFile: string, exited: Promise<unknown>): Promise<string> {
  let gone = false;
  void exited.then(() => (gone = true));
  for (;;) {
    const match = /^pairgate listening on (\S+)$/m.exec(readFileSync(outputFile, 'utf8'));
    if (match) return match[1]!;
    if (gone) throw new Error(`the server exited before listening: ${readFileSync(outputFile, 'utf8')}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** Twenty clients creating grants one after another for `loadMs`. */
async function createGrantsFor(url: string, loadMs: number): Promise<void> {
  const until = Date.now() + loadMs;
  const client = async () => {
    while (Date.now() < until) {
      const response = await fetch(`${url}/api/v1/grants`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"label":"load"}' });
      expect(response.status).toBe(201);
      await response.arrayBuffer();
    }
  };
  await Promise.all(Array.from({ length: 20 }, client));
}

describe('the feedback of process.nextTick in a server under load', () => {
  let dataDir: string;
  beforeAll(() => {
    ensureBuilt();
    dataDir = mkdtempSync(join(tmpdir(), 'pairgate-tick-shape-'));
  });
  afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

  it('stays monomorphic in `pairgate serve`, and turns megamorphic in the same server without the kept tick object', async () => {
    const served = await literalFeedbackAfterLoad([CLI, 'serve'], 4_000, join(dataDir, 'served'));
    // Both servers see a full collection every 200 ms; a control that has not turned yet (a machine
    // too busy to serve many creations) gets a second, longer run.
    let control = await literalFeedbackAfterLoad([join(FIXTURES, 'serve-without-tick-keeper.mjs')], 4_000, join(dataDir, 'control'));
    if (!control.includes('MEGAMORPHIC')) control = await literalFeedbackAfterLoad([join(FIXTURES, 'serve-without-tick-keeper.mjs')], 10_000, join(dataDir, 'control-longer'));
    // Four slots each, or V8's description changed and neither figure says anything.
    expect(served).toHaveLength(4);
    expect(control).toHaveLength(4);
    expect(served).toEqual(['MONOMORPHIC', 'MONOMORPHIC', 'MONOMORPHIC', 'MONOMORPHIC']);
    // The control shows the harm is real on this Node. Should a later Node keep the literal's
    // class alive by itself, this fails: keepTickObjectShape may then be dropped.
    expect(control).toContain('MEGAMORPHIC');
  }, 120_000);
});

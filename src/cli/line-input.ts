import { createInterface, type Interface } from 'node:readline';

/**
 * Lines from standard input, for prompts and chat alike. Lines are queued, so input that arrives
 * before the question (a pipe, a fast typist) is never lost; `undefined` means the input ended.
 */
export class LineInput {
  private readonly rl: Interface;
  private readonly queue: string[] = [];
  private readonly waiting: ((line: string | undefined) => void)[] = [];
  private closed = false;
  private listener: ((line: string) => void) | undefined;
  private endListener: (() => void) | undefined;

  /** Whether the answers are echoed (typed at a terminal), which ends each prompt's line. */
  private readonly echoed: boolean;

  constructor(input: NodeJS.ReadableStream = process.stdin, private readonly output: NodeJS.WritableStream = process.stdout) {
    this.echoed = (input as { isTTY?: boolean }).isTTY === true;
    this.rl = createInterface({ input, terminal: false });
    this.rl.on('line', (line) => {
      if (this.listener) this.listener(line);
      else if (this.waiting.length) this.waiting.shift()!(line);
      else this.queue.push(line);
    });
    this.rl.on('close', () => {
      this.closed = true;
      for (const resolve of this.waiting.splice(0)) resolve(undefined);
      this.endListener?.();
    });
  }

  /**
   * Prints `prompt` and resolves with the next line (undefined at end of input). An answer read from
   * a pipe or a file is not echoed: the prompt's line is ended here, so what is printed next (an
   * error, the next prompt) starts a line of its own.
   */
  async ask(prompt: string): Promise<string | undefined> {
    this.output.write(prompt);
    const answer = this.queue.length ? this.queue.shift() : this.closed ? undefined : await new Promise<string | undefined>((resolve) => this.waiting.push(resolve));
    if (!this.echoed) this.output.write('\n');
    return answer;
  }

  /** From now on, hands every line to `onLine` (queued ones first) and calls `onEnd` at end of input. */
  stream(onLine: (line: string) => void, onEnd: () => void): void {
    this.listener = onLine;
    this.endListener = onEnd;
    for (const line of this.queue.splice(0)) onLine(line);
    if (this.closed) onEnd();
  }

  /** Stops reading. */
  close(): void {
    this.listener = undefined;
    this.endListener = undefined;
    this.rl.close();
  }
}

/** True for a yes: y, yes (any case); everything else, the empty line included, is a no. */
export function isYes(answer: string | undefined): boolean {
  return /^\s*y(es)?\s*$/i.test(answer ?? '');
}

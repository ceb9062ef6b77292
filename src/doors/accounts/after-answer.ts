import type { FastifyBaseLogger, FastifyReply } from 'fastify';

/** Work a request leaves for after its answer. */
export type AfterAnswerJob = () => Promise<void>;

/**
 * Work done for a request only once its answer has gone out, one job at a time.
 *
 * Why after: some answers must say nothing about what the work finds, in their content or in their
 * timing. A password-reset request for an existing account reads, counts, writes a token and
 * mails; one for an unknown name only reads. Done before answering, that difference shows in the
 * time the answer takes; done after, every answer costs the same (queue a job, render the page).
 *
 * Why one at a time: a flood of requests then queues work instead of running it all at once, and
 * past `maxQueued` waiting jobs new ones are dropped with a log line rather than growing memory.
 * Slow tails a job starts and need not wait for (a mail on its way to an SMTP server) are tracked
 * with `track`, outside the queue, so one slow server does not hold every later job.
 */
export class AfterAnswer {
  private chain: Promise<void> = Promise.resolve();
  private waiting = 0;
  private readonly tails = new Set<Promise<unknown>>();
  private closed = false;

  constructor(
    private readonly logger: FastifyBaseLogger,
    private readonly maxQueued = 1000,
  ) {}

  /** Jobs queued or running. */
  get queued(): number {
    return this.waiting;
  }

  /**
   * Queues `job` once the answer on `reply` has gone out. 'close' rather than Fastify's onResponse:
   * it also fires when the client hangs up mid-answer, and the work is still owed then.
   */
  afterReply(reply: FastifyReply, job: AfterAnswerJob): void {
    reply.raw.once('close', () => this.enqueue(job));
  }

  /** Queues `job` behind the ones waiting; false (with a log line) when it is dropped. */
  enqueue(job: AfterAnswerJob): boolean {
    if (this.closed || this.waiting >= this.maxQueued) {
      this.logger.warn({ queued: this.waiting, closing: this.closed }, 'work after an answer dropped: the queue is full or the server is closing');
      return false;
    }
    this.waiting++;
    this.chain = this.chain
      .then(job)
      // The error's message only: a job's data (a login, a mail) stays out of the log.
      .catch((error: unknown) => this.logger.warn({ err: { message: (error as Error).message } }, 'work after an answer failed'))
      .finally(() => {
        this.waiting--;
      });
    return true;
  }

  /** Keeps track of `work` a job started without waiting for it, so `idle` and `close` wait for it too. */
  track(work: Promise<unknown>): void {
    const tracked: Promise<unknown> = work.catch(() => undefined).finally(() => this.tails.delete(tracked));
    this.tails.add(tracked);
  }

  /** Resolves once every queued job and tracked work has ended. */
  async idle(): Promise<void> {
    while (this.waiting > 0 || this.tails.size > 0) await Promise.all([this.chain, ...this.tails]);
  }

  /**
   * Takes no more jobs and waits for those queued, at most `graceMs` (a mail server that does not
   * answer must not hold the shutdown for the SMTP timeouts, up to a minute of silence: `SMTP_TIMEOUTS`).
   */
  async close(graceMs: number): Promise<void> {
    this.closed = true;
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<'late'>((resolve) => {
      timer = setTimeout(() => resolve('late'), graceMs);
      timer.unref();
    });
    try {
      if ((await Promise.race([this.idle(), late])) === 'late') this.logger.warn({ queued: this.waiting, sending: this.tails.size }, 'work after answers left unfinished at shutdown');
    } finally {
      clearTimeout(timer);
    }
  }
}

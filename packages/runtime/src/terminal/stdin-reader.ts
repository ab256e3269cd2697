import { LuactError } from '@luact/core';

/** What a process asks of stdin: one line (without its line end), or up to `max` bytes. */
export type ReadRequest =
  | { readonly kind: 'line' }
  | { readonly kind: 'bytes'; readonly max: number };

export type ReadResult =
  | { readonly ok: true; readonly data: Uint8Array }
  | { readonly ok: false; readonly error: LuactError };

/** The input side of a console: a Node.js readable stream (process.stdin, or a test's pipe). */
export interface InputStream {
  on(event: 'data', listener: (chunk: Buffer | string) => void): unknown;
  on(event: 'end', listener: () => void): unknown;
  on(event: 'error', listener: (error: Error) => void): unknown;
  pause(): unknown;
  resume(): unknown;
}

interface Waiter {
  readonly request: ReadRequest;
  readonly done: (result: ReadResult) => void;
}

const NEWLINE = 0x0a;
const CARRIAGE_RETURN = 0x0d;

/**
 * Serves reads of one input stream to whoever asks, first come first served, each answered
 * when its data is there: a process waiting for a line blocks only itself. The stream flows
 * only while someone waits, so an idle console keeps neither data moving nor the node alive.
 * At the end of the stream a line read gets what is left of the last line, then an EOF error.
 */
export class StdinReader {
  private buffered: Buffer = Buffer.alloc(0);
  private ended = false;
  private failure: LuactError | undefined;
  private readonly waiting: Waiter[] = [];
  private listening = false;
  private flowing = false;

  constructor(private readonly input: InputStream) {}

  /** Answers `request` through `done` once it can; returns how to withdraw it unanswered. */
  read(request: ReadRequest, done: (result: ReadResult) => void): () => void {
    const waiter: Waiter = { request, done };
    this.waiting.push(waiter);
    this.serve();
    return () => {
      const at = this.waiting.indexOf(waiter);
      if (at < 0) return;
      this.waiting.splice(at, 1);
      this.serve();
    };
  }

  private serve(): void {
    for (;;) {
      const first = this.waiting[0];
      if (first === undefined) break;
      const result = this.take(first.request);
      if (result === undefined) break;
      this.waiting.shift();
      first.done(result);
    }
    this.setFlowing(this.waiting.length > 0 && !this.ended);
  }

  /** The answer to `request` from what has arrived, or undefined while it must wait. */
  private take(request: ReadRequest): ReadResult | undefined {
    if (request.kind === 'line') {
      const end = this.buffered.indexOf(NEWLINE);
      if (end >= 0) return { ok: true, data: withoutCarriageReturn(this.consume(end, 1)) };
      if (!this.ended) return undefined;
      if (this.buffered.length > 0)
        return { ok: true, data: withoutCarriageReturn(this.consume(this.buffered.length, 0)) };
      return { ok: false, error: this.endError('readline') };
    }
    if (this.buffered.length > 0)
      return { ok: true, data: this.consume(Math.min(request.max, this.buffered.length), 0) };
    return this.ended ? { ok: false, error: this.endError('read') } : undefined;
  }

  /** Takes `length` bytes off the front, then drops `skip` more (the line end). */
  private consume(length: number, skip: number): Uint8Array {
    const taken = Uint8Array.from(this.buffered.subarray(0, length));
    this.buffered = this.buffered.subarray(length + skip);
    return taken;
  }

  private endError(operation: string): LuactError {
    if (this.failure) {
      return new LuactError('INTERNAL', `${operation}: ${this.failure.message}`, {
        retryable: false,
      });
    }
    return new LuactError('UNAVAILABLE', `${operation}: EOF (stdin is closed)`, {
      retryable: false,
    });
  }

  private setFlowing(wanted: boolean): void {
    if (wanted && !this.listening) {
      this.listening = true;
      this.input.on('data', (chunk) => {
        const bytes = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
        this.buffered = this.buffered.length === 0 ? bytes : Buffer.concat([this.buffered, bytes]);
        this.serve();
      });
      this.input.on('end', () => {
        this.ended = true;
        this.serve();
      });
      this.input.on('error', (error) => {
        this.failure = LuactError.from(error);
        this.ended = true;
        this.serve();
      });
    }
    if (wanted === this.flowing) return;
    this.flowing = wanted;
    if (wanted) this.input.resume();
    else this.input.pause();
  }
}

function withoutCarriageReturn(line: Uint8Array): Uint8Array {
  return line.length > 0 && line[line.length - 1] === CARRIAGE_RETURN
    ? line.subarray(0, line.length - 1)
    : line;
}

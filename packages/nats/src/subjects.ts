import { LuactError } from '@luact/core';

/**
 * Where a journal stream lives in JetStream. Each stream ID becomes one subject token: the
 * base64url form of its UTF-8 bytes, which holds no `.`, `*`, `>` or whitespace and reads back
 * exactly. Records go to `<prefix>.<token>`; closing a stream publishes one marker message to
 * `<prefix>.<token>.closed`, so open and closed streams can be told apart from the stream's
 * per-subject counts, without reading records.
 */
export class JournalSubjects {
  constructor(readonly prefix: string) {
    if (!SUBJECT.test(prefix)) {
      throw new LuactError(
        'INVALID',
        `journal subject prefix must be dot-separated tokens without wildcards or spaces, got ${JSON.stringify(prefix)}`,
        { retryable: false },
      );
    }
  }

  /** Every subject of the journal: what the JetStream stream must capture. */
  get all(): string {
    return `${this.prefix}.>`;
  }

  /** Matches the record subjects of every stream (one token after the prefix). */
  get everyStream(): string {
    return `${this.prefix}.*`;
  }

  /** Matches the close markers of every stream. */
  get everyCloseMarker(): string {
    return `${this.prefix}.*.${CLOSED}`;
  }

  records(id: string): string {
    return `${this.prefix}.${tokenOf(id)}`;
  }

  closeMarker(id: string): string {
    return `${this.records(id)}.${CLOSED}`;
  }

  /** The stream ID of a record or close-marker subject; undefined for any other subject. */
  idOf(subject: string): string | undefined {
    if (!subject.startsWith(`${this.prefix}.`)) return undefined;
    const rest = subject.slice(this.prefix.length + 1).split('.');
    const [token] = rest;
    if (token === undefined || rest.length > 2 || (rest.length === 2 && rest[1] !== CLOSED)) {
      return undefined;
    }
    const id = Buffer.from(token, 'base64url').toString('utf8');
    return tokenOf(id) === token ? id : undefined; // only tokens this encoding produces
  }

  /** The ID in a stream's message-ID space: `<token>:<position>` names one record. */
  messageId(id: string, position: number): string {
    return `${tokenOf(id)}:${position}`;
  }
}

const CLOSED = 'closed';
const SUBJECT = /^[^.*>\s]+(\.[^.*>\s]+)*$/;

function tokenOf(id: string): string {
  return Buffer.from(id, 'utf8').toString('base64url');
}

/** A log line of the mail transport: structured, for the node's log (see MailTransportOptions.log). */
export interface MailLogRecord {
  readonly level: 'debug' | 'info' | 'warn' | 'error';
  readonly message: string;
  readonly fields: Readonly<Record<string, unknown>>;
}

export type MailLog = (record: MailLogRecord) => void;

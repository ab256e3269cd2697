/** Why a test server could not be provided. */
export type NatsServerErrorKind =
  | 'not-installed'
  | 'start-failed'
  | 'exited-early'
  | 'ready-timeout'
  | 'stop-timeout'
  | 'cluster-timeout'
  | 'stopped';

/** The one error the testkit throws; `logTail` carries the server's last stderr lines. */
export class NatsServerError extends Error {
  override readonly name = 'NatsServerError';
  readonly kind: NatsServerErrorKind;
  readonly logTail: string;

  constructor(kind: NatsServerErrorKind, message: string, logTail = '', options?: ErrorOptions) {
    super(
      logTail === '' ? message : `${message}\n--- nats-server stderr (tail) ---\n${logTail}`,
      options,
    );
    this.kind = kind;
    this.logTail = logTail;
  }
}

/** The subset of nats-server configuration the testkit writes. */
export interface NatsConfig {
  readonly serverName: string;
  readonly host: string;
  /** -1 lets the server pick a free port. */
  readonly port: number;
  /** HTTP monitoring port (-1: any free port); omitted: no monitoring. */
  readonly httpPort?: number;
  /** JetStream store directory; omitted: JetStream off. */
  readonly storeDir?: string;
  readonly maxPayload?: number;
  /** Client accounts; with any, every client must log in as one of them. */
  readonly users?: readonly NatsUser[];
  readonly cluster?: {
    readonly name: string;
    readonly port: number;
    /** Route ports of every member, this one included (the server skips itself). */
    readonly routePorts: readonly number[];
  };
}

/** A client account of the server. */
export interface NatsUser {
  readonly user: string;
  readonly password: string;
  /** Subjects (wildcards allowed) it may not subscribe to. */
  readonly denySubscribe?: readonly string[];
}

/** Renders a nats-server config file; strings are JSON-quoted, which the format accepts. */
export function renderNatsConfig(config: NatsConfig): string {
  const q = (value: string) => JSON.stringify(value);
  const lines = [
    `server_name: ${q(config.serverName)}`,
    `host: ${q(config.host)}`,
    `port: ${config.port}`,
  ];
  if (config.httpPort !== undefined) lines.push(`http: ${q(`${config.host}:${config.httpPort}`)}`);
  if (config.maxPayload !== undefined) lines.push(`max_payload: ${config.maxPayload}`);
  if (config.storeDir !== undefined) lines.push(`jetstream { store_dir: ${q(config.storeDir)} }`);
  if (config.users !== undefined && config.users.length > 0) {
    const user = ({ user, password, denySubscribe }: NatsUser) => {
      const deny = denySubscribe?.length
        ? `, permissions: { subscribe: { deny: [${denySubscribe.map(q).join(', ')}] } }`
        : '';
      return `    { user: ${q(user)}, password: ${q(password)}${deny} }`;
    };
    lines.push('authorization {', '  users = [', ...config.users.map(user), '  ]', '}');
  }
  const { cluster } = config;
  if (cluster !== undefined) {
    const routes = cluster.routePorts.map((port) => q(`nats-route://${config.host}:${port}`));
    lines.push(
      'cluster {',
      `  name: ${q(cluster.name)}`,
      `  listen: ${q(`${config.host}:${cluster.port}`)}`,
      `  routes: [${routes.join(', ')}]`,
      '}',
    );
  }
  return `${lines.join('\n')}\n`;
}

/** What one node's `/jsz` says about the JetStream meta group (Raft group of all servers). */
export interface MetaClusterView {
  readonly leader: string | undefined;
  readonly clusterSize: number | undefined;
  /** Filled in on the leader only: the other members and whether they are caught up. */
  readonly replicas: readonly { readonly name: string; readonly current: boolean }[];
}

const REQUEST_TIMEOUT_MS = 1_000;

/** Reads `/jsz` from a monitoring endpoint; undefined when the node does not answer. */
export async function readMetaCluster(monitorUrl: string): Promise<MetaClusterView | undefined> {
  let body: unknown;
  try {
    const response = await fetch(`${monitorUrl}/jsz`, {
      signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
    });
    if (!response.ok) return undefined;
    body = await response.json();
  } catch {
    return undefined;
  }
  const meta = field(body, 'meta_cluster');
  const leader = field(meta, 'leader');
  const clusterSize = field(meta, 'cluster_size');
  const replicas = field(meta, 'replicas');
  return {
    leader: typeof leader === 'string' && leader !== '' ? leader : undefined,
    clusterSize: typeof clusterSize === 'number' ? clusterSize : undefined,
    replicas: Array.isArray(replicas)
      ? replicas.map((replica: unknown) => ({
          name: String(field(replica, 'name')),
          current: field(replica, 'current') === true,
        }))
      : [],
  };
}

function field(value: unknown, key: string): unknown {
  return typeof value === 'object' && value !== null ? Reflect.get(value, key) : undefined;
}

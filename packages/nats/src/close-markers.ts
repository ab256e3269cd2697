/**
 * Close markers on their way. A close is decided by its close entry (checked like every entry:
 * single writer, epoch); the marker, published after that entry was stored, only lets listings
 * tell closed journals from open ones without reading them. So a close resolves once its entry
 * is stored and its marker follows in the background: one round trip less per close. Until it
 * lands, other readers see the journal as a close cut short (the entry, no marker), which every
 * path already handles: appends are refused, `close` publishes the marker, a workflow host that
 * resumes the journal finds it ended and closes it. This journal's own listings first wait for
 * the markers it sent (and send again one that failed), so they see their own closes.
 */
export class CloseMarkers {
  private readonly sending = new Map<string, Sending>();

  constructor(private readonly publish: (id: string, summary: Uint8Array) => Promise<void>) {}

  /** Publishes journal `id`'s marker carrying `summary`, without waiting for it. */
  send(id: string, summary: Uint8Array): void {
    const entry: Sending = {
      summary,
      landed: this.publish(id, summary).then(
        () => {
          if (this.sending.get(id) === entry) this.sending.delete(id);
          return true;
        },
        () => false,
      ),
    };
    this.sending.set(id, entry);
  }

  /** Waits for every marker sent; one that failed is published again (its failure thrown). */
  async settle(): Promise<void> {
    await Promise.all(
      [...this.sending].map(async ([id, entry]) => {
        if (await entry.landed) return;
        await this.publish(id, entry.summary);
        if (this.sending.get(id) === entry) this.sending.delete(id);
      }),
    );
  }

  /** Waits until journal `id`'s marker is no longer on its way, landed or not, and forgets it. */
  async drop(id: string): Promise<void> {
    const entry = this.sending.get(id);
    if (entry === undefined) return;
    await entry.landed;
    if (this.sending.get(id) === entry) this.sending.delete(id);
  }

  /** Waits for the markers on their way, without sending again those that failed. */
  async idle(): Promise<void> {
    await Promise.all([...this.sending.values()].map((entry) => entry.landed));
  }
}

interface Sending {
  readonly summary: Uint8Array;
  /** Whether the publish stored the marker (or found it there). */
  readonly landed: Promise<boolean>;
}

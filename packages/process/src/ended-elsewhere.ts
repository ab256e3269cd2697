import { BoundedSet } from './bounded-set.js';
import { type NodeIdentity, type Pid, parsePid } from './pid.js';

/** How many ended PIDs and down incarnations a node remembers (the oldest are forgotten). */
const REMEMBERED = 10_000;

/**
 * The processes of other nodes (or other threads) this node has learned are gone: each whose
 * end reached it (its EXIT, LINK_DOWN or result), every process of an incarnation declared
 * down, and every one a lost worker thread ran. A PID is never reused, so once gone it stays
 * gone: mail, signals, monitors and links to it answer NOT_FOUND here, as for an ended local
 * process, instead of travelling to be dropped there. Bounded: a PID forgotten again is only
 * sent to and dropped by its node.
 */
export class EndedElsewhere {
  private readonly pids = new BoundedSet<string>(REMEMBERED);
  private readonly incarnations = new BoundedSet<string>(REMEMBERED);
  /** Each lost place's PIDs by the place's name (a worker thread: the newest loss of it). */
  private readonly places = new Map<string, (pid: Pid) => boolean>();

  ended(pid: Pid): void {
    this.pids.add(pid);
  }

  nodeDown(down: NodeIdentity): void {
    this.incarnations.add(`${down.node}~${down.incarnation}`);
  }

  /**
   * The processes `onIt` picks ran at `place`, which is gone (a worker thread). A place lost
   * again replaces what it said before: its newer `onIt` covers the older PIDs too.
   */
  placeDown(place: string, onIt: (pid: Pid) => boolean): void {
    this.places.set(place, onIt);
  }

  has(pid: Pid): boolean {
    if (this.pids.has(pid)) return true;
    if (this.places.size > 0) for (const onIt of this.places.values()) if (onIt(pid)) return true;
    if (this.incarnations.size === 0) return false;
    const parts = parsePid(pid);
    return (
      parts?.incarnation !== undefined &&
      this.incarnations.has(`${parts.node}~${parts.incarnation}`)
    );
  }
}

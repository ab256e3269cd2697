import { LuactError } from '@luact/core';
import type { JournalRecord } from '@luact/journal';
import {
  type Command,
  type EventRecord,
  isEvent,
  isTerminal,
  type StartedRecord,
  type TaskRecord,
  type TerminalRecord,
  type WorkflowRecord,
} from './records.js';

/**
 * A run's journal read back, arranged for replay: its events in order, the commands recorded
 * for each, and what became of every command (so recovery knows what is still in flight).
 */
export class History {
  readonly started: StartedRecord;
  readonly events: readonly EventRecord[];
  readonly terminal: TerminalRecord | undefined;
  /** Journal position of each event's task record, by event index. */
  private readonly tasks = new Map<
    number,
    { readonly task: TaskRecord; readonly position: number }
  >();
  /** Seqs of commands that have a result event, or were canceled before they ended. */
  private readonly settled = new Set<number>();
  /** Timer seq → workflow time of its last tick. */
  private readonly lastTick = new Map<number, number>();
  /** Commands with a seq up to this were carried out before the last record was written. */
  readonly executedThrough: number;

  constructor(
    readonly stream: string,
    readonly records: readonly WorkflowRecord[],
  ) {
    const first = records[0];
    if (first?.t !== 'started')
      throw corrupt(
        stream,
        0,
        `the first record is ${first ? `"${first.t}"` : 'missing'}, not "started"`,
      );
    this.started = first;
    const events: EventRecord[] = [];
    let terminal: TerminalRecord | undefined;
    let executed = 0;
    records.forEach((record, position) => {
      if (terminal) throw corrupt(stream, position, `a "${record.t}" record follows the run's end`);
      if (isEvent(record)) {
        if (record.t === 'started' && position > 0)
          throw corrupt(stream, position, 'a second "started" record');
        events.push(record);
        this.noteResult(record);
      } else if (record.t === 'task') {
        this.tasks.set(record.event, { task: record, position });
        for (const command of record.commands) this.noteCancel(command);
        executed = Math.max(executed, record.executed ?? 0);
      } else if (isTerminal(record)) {
        terminal = record;
      } else {
        throw corrupt(stream, position, `unknown record "${(record as { t: string }).t}"`);
      }
    });
    this.events = events;
    this.terminal = terminal;
    this.executedThrough = executed;
  }

  /** Parses journal records (checking each is a workflow record). */
  static of(stream: string, records: readonly JournalRecord[]): History {
    records.forEach((record, position) => {
      if (typeof record.t !== 'string' || typeof record.at !== 'number')
        throw corrupt(stream, position, 'a record without a type or time');
    });
    return new History(stream, records as unknown as WorkflowRecord[]);
  }

  /** The recorded task for event `event`, if the journal has one. */
  task(event: number): { readonly task: TaskRecord; readonly position: number } | undefined {
    return this.tasks.get(event);
  }

  /** Every recorded command, in the order it was issued. */
  commands(): Command[] {
    return [...this.tasks.values()]
      .sort((a, b) => a.task.event - b.task.event)
      .flatMap(({ task }) => task.commands);
  }

  isSettled(seq: number): boolean {
    return this.settled.has(seq);
  }

  lastTickOf(seq: number): number | undefined {
    return this.lastTick.get(seq);
  }

  /** Origins of the messages and cancels already taken (see the signal record's `origin`). */
  readonly origins = new Set<string>();

  private noteResult(event: EventRecord): void {
    switch (event.t) {
      case 'signal':
      case 'cancel':
        if (event.origin !== undefined) this.origins.add(event.origin);
        return;
      case 'activity':
      case 'child':
      case 'exit':
        this.settled.add(event.seq);
        return;
      case 'timer':
        this.lastTick.set(event.seq, event.at);
        return;
      default:
        return;
    }
  }

  /** Activities the code canceled: if their end is not journaled, recovery reports it. */
  readonly canceled = new Set<number>();

  private noteCancel(command: Command): void {
    if (command.k === 'cancel_timer') this.settled.add(command.target);
    if (command.k === 'cancel_activity') this.canceled.add(command.target);
  }
}

function corrupt(stream: string, position: number, why: string): LuactError {
  return new LuactError(
    'INTERNAL',
    `journal ${stream} is not a workflow history at record ${position}: ${why}`,
    {
      retryable: false,
      details: { stream, position },
    },
  );
}

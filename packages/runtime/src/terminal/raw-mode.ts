import { LuactError } from '@luact/core';
import type { FiberGroup } from '@luact/lua';

/** The part of stdin raw mode needs: a TTY can turn line editing and echo off. */
export interface RawCapableInput {
  readonly isTTY?: boolean;
  setRawMode?(raw: boolean): unknown;
}

/**
 * Raw mode of the console, counted: each `io.raw(true)` needs its `io.raw(false)`, and the
 * terminal is back to normal once no process holds it (what a process held is released when it
 * ends, so a crashed program does not leave the terminal raw).
 */
export class RawMode {
  private readonly holds = new Map<FiberGroup, number>();
  private total = 0;

  constructor(private readonly input: RawCapableInput) {}

  /** Enables (`true`) or disables raw mode for `group`; the error when the console cannot. */
  set(group: FiberGroup, enable: boolean): LuactError | undefined {
    if (this.input.isTTY !== true || typeof this.input.setRawMode !== 'function') {
      return new LuactError(
        'UNAVAILABLE',
        'raw terminal control unavailable: stdin is not a terminal (TTY)',
        { retryable: false },
      );
    }
    const held = this.holds.get(group) ?? 0;
    if (enable) {
      this.holds.set(group, held + 1);
      this.adjust(1);
    } else if (held > 0) {
      if (held === 1) this.holds.delete(group);
      else this.holds.set(group, held - 1);
      this.adjust(-1);
    }
    return undefined;
  }

  /** Drops every hold of `group` (it ended). */
  release(group: FiberGroup): void {
    const held = this.holds.get(group) ?? 0;
    if (held === 0) return;
    this.holds.delete(group);
    this.adjust(-held);
  }

  private adjust(by: number): void {
    const before = this.total;
    this.total += by;
    if (before === 0 && this.total > 0) this.input.setRawMode?.(true);
    else if (before > 0 && this.total === 0) this.input.setRawMode?.(false);
  }
}

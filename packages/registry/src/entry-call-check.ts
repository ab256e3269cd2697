import { resolveReference } from '@luact/core';
import type { Diagnostic, SourceLocation } from './diagnostics.js';
import type { Entry } from './entry.js';
import { type EntryCall, type LiteralAt, literalEntryCalls } from './entry-calls.js';
import type { Kind } from './kinds/catalog.js';
import { processFunctionHost } from './process-functions.js';
import { didYouMeanEntry } from './similar-entry.js';
import type { RegistrySnapshot } from './snapshot.js';

const LUA_KINDS: ReadonlySet<Kind> = new Set([
  'function.lua',
  'process.lua',
  'workflow.lua',
  'library.lua',
]);
const HOST_KINDS: readonly Kind[] = ['process.host', 'terminal.host', 'workflow.host'];

/**
 * Entry IDs that Lua sources name with a literal in `funcs.call`, `process.spawn*`,
 * `process.exec`, `process.upgrade`, `workflow.exec` (see literalEntryCalls), checked against
 * the registry: an ID of no entry (with a "did you mean" among entries that would fit), or of
 * an entry the call cannot run (a process.lua given to funcs.call), and the same for a literal
 * host of a spawn. Each is reported at the literal, with `severity`: lint makes them errors; a
 * starting node warnings, as a call in a branch that never runs must not stop an application.
 * A library's relative IDs resolve against whoever imports it, so only its full IDs are checked.
 */
export function entryCallProblems(
  snapshot: RegistrySnapshot,
  severity: Diagnostic['severity'],
): Diagnostic[] {
  const problems = new Map<string, Diagnostic>();
  // Entries often share a file (one per method): it is read once, each problem said once.
  const callsOf = new Map<string, EntryCall[]>();
  for (const entry of snapshot.entries()) {
    if (!LUA_KINDS.has(entry.kind)) continue;
    const source = entry.fields.source;
    if (typeof source !== 'string') continue;
    let calls = callsOf.get(source);
    if (calls === undefined) {
      calls = literalEntryCalls(source);
      callsOf.set(source, calls);
    }
    const report: Report = (code, message, at) => {
      const problem: Diagnostic = {
        severity,
        code,
        message,
        entry: entry.id,
        field: 'source',
        ...locationOf(entry, at),
      };
      const place = problem.location ?? { file: entry.id, line: at.line, column: at.column };
      const key = `${place.file}:${place.line}:${place.column}:${message}`;
      if (!problems.has(key)) problems.set(key, problem);
    };
    for (const call of calls) checkCall(snapshot, entry, call, report);
  }
  return [...problems.values()];
}

type Report = (
  code: 'lua-unknown-entry' | 'lua-entry-kind',
  message: string,
  at: LiteralAt,
) => void;

function checkCall(snapshot: RegistrySnapshot, caller: Entry, call: EntryCall, report: Report) {
  const host = call.host ? checkHost(snapshot, caller, call, call.host, report) : { ok: true };
  const target = lookUp(snapshot, caller, call.entry.value);
  if (target.kind === 'skipped') return;
  const written = `${call.call}(${JSON.stringify(call.entry.value)})`;
  if (target.kind === 'invalid') {
    report('lua-unknown-entry', `${written}: ${target.message}`, call.entry);
    return;
  }
  const fitting = fittingKinds(call, caller.kind, host.kind);
  if (target.kind === 'missing') {
    report(
      'lua-unknown-entry',
      `${written}: there is no entry ${target.id}${didYouMeanEntry(snapshot, target.id, fitting)}`,
      call.entry,
    );
  } else if (
    host.ok &&
    !fitting.includes(target.entry.kind) &&
    !callableAsFunction(call, target.entry)
  ) {
    // (With a wrong host, which kinds would fit is unknown: only existence is checked.)
    report(
      'lua-entry-kind',
      `${written}: ${target.id} is a ${target.entry.kind} entry, and ${call.call} runs ${fitting.join(' or ')} entries${hint(target.entry.kind, fitting)}`,
      call.entry,
    );
  }
}

/** The literal host of a spawn: reported unless it is a host the caller may spawn on. */
function checkHost(
  snapshot: RegistrySnapshot,
  caller: Entry,
  call: EntryCall,
  literal: LiteralAt,
  report: Report,
): { readonly ok: boolean; readonly kind?: Kind } {
  const host = lookUp(snapshot, caller, literal.value);
  const fitting: readonly Kind[] = caller.kind === 'workflow.lua' ? ['workflow.host'] : HOST_KINDS;
  switch (host.kind) {
    case 'skipped':
      return { ok: true };
    case 'invalid':
      report('lua-unknown-entry', `${call.call} host: ${host.message}`, literal);
      return { ok: false };
    case 'missing':
      report(
        'lua-unknown-entry',
        `${call.call} names host ${host.id}, which is not an entry${didYouMeanEntry(snapshot, host.id, fitting)}`,
        literal,
      );
      return { ok: false };
    case 'found':
      if (fitting.includes(host.entry.kind)) return { ok: true, kind: host.entry.kind };
      report(
        'lua-entry-kind',
        `${call.call} names host ${host.id}, a ${host.entry.kind} entry; ${
          caller.kind === 'workflow.lua'
            ? 'a workflow starts its children on a workflow.host'
            : 'processes run on a process.host (or a terminal.host), workflows on a workflow.host'
        }`,
        literal,
      );
      return { ok: false };
  }
}

type Lookup =
  | { readonly kind: 'found'; readonly id: string; readonly entry: Entry }
  | { readonly kind: 'missing'; readonly id: string }
  | { readonly kind: 'invalid'; readonly message: string }
  | { readonly kind: 'skipped' };

/** An ID as `caller` wrote it, resolved the way the runtime resolves it, and its entry. */
function lookUp(snapshot: RegistrySnapshot, caller: Entry, written: string): Lookup {
  // Libraries run in the processes that import them, whose namespaces they do not know.
  if (caller.kind === 'library.lua' && !written.includes(':')) return { kind: 'skipped' };
  const resolved = resolveReference(written, caller.namespace);
  if (!resolved.ok) return { kind: 'invalid', message: `invalid entry ID: ${resolved.error}` };
  const entry = snapshot.get(resolved.value);
  return entry
    ? { kind: 'found', id: resolved.value, entry }
    : { kind: 'missing', id: resolved.value };
}

/** A funcs.call of a process.lua that names the host its calls run on (processFunctionHost). */
function callableAsFunction(call: EntryCall, target: Entry): boolean {
  return call.kind === 'function' && processFunctionHost(target) !== undefined;
}

/** The kinds of entry a call can run, given where it runs and (for spawns) on which host. */
function fittingKinds(call: EntryCall, caller: Kind, host: Kind | undefined): readonly Kind[] {
  switch (call.kind) {
    case 'function':
      return ['function.lua'];
    case 'workflow':
      return ['workflow.lua'];
    case 'upgrade':
      if (caller === 'workflow.lua') return ['workflow.lua'];
      return caller === 'library.lua' ? ['process.lua', 'workflow.lua'] : ['process.lua'];
    case 'spawn':
      if (caller === 'workflow.lua' || host === 'workflow.host') return ['workflow.lua'];
      return host === 'process.host' || host === 'terminal.host'
        ? ['process.lua']
        : ['process.lua', 'workflow.lua'];
  }
}

function hint(kind: Kind, fitting: readonly Kind[]): string {
  if (fitting.includes('function.lua') && kind === 'process.lua')
    return ' (spawn a process with process.spawn or process.exec, or give it meta.default_host to call it as a function)';
  if (fitting.includes('process.lua') && kind === 'function.lua')
    return ' (call a function with funcs.call)';
  return '';
}

/** Where a literal is in its file: the source's start plus the literal's place in the text. */
function locationOf(entry: Entry, at: LiteralAt): { location?: SourceLocation } {
  const start = entry.sourceLocation;
  if (!start) return {};
  return {
    location: {
      file: start.file,
      line: start.line + at.line - 1,
      // A block scalar's lines all have the indentation its first line starts at.
      column: at.column + start.column - 1,
    },
  };
}

import path from 'node:path';
import {
  type Diagnostic,
  displayPath,
  formatDiagnostic,
  hasErrors,
  type LoadedApplication,
  type SourceLocation,
} from '@luact/registry';
import { lintApplication } from '@luact/runtime';
import { type CliIO, ExitCode } from '../io.js';

export interface LintOptions {
  readonly json: boolean;
  /** Also report `${env:…}` placeholders whose variables are unset here. */
  readonly envCheck: boolean;
}

/** `luact lint [dir]`: validates an application without running it. */
export async function lint(dir: string, options: LintOptions, io: CliIO): Promise<ExitCode> {
  const target = path.resolve(io.cwd, dir);
  const { loaded, diagnostics } = await lintApplication(
    target,
    options.envCheck ? { env: io.env } : {},
  );
  const failed = hasErrors(diagnostics);
  const summary = summarize(loaded, diagnostics);
  if (options.json) {
    io.stdout.write(
      `${JSON.stringify(jsonReport(loaded, diagnostics, summary, io.cwd), null, 2)}\n`,
    );
  } else {
    for (const diagnostic of diagnostics)
      io.stdout.write(`${formatDiagnostic(diagnostic, io.cwd)}\n`);
    const where = displayPath(loaded.dir, io.cwd);
    io.stdout.write(
      failed ? `luact lint ${where}: ${summary.text}\n` : `${where}: ${summary.text}\n`,
    );
  }
  return failed ? ExitCode.failure : ExitCode.ok;
}

interface Summary {
  readonly errors: number;
  readonly warnings: number;
  readonly text: string;
}

function summarize(loaded: LoadedApplication, diagnostics: readonly Diagnostic[]): Summary {
  const errors = diagnostics.filter((d) => d.severity === 'error').length;
  const warnings = diagnostics.filter((d) => d.severity === 'warning').length;
  const files = `${count(loaded.files.length, 'file')}${loaded.skipped.length > 0 ? ` (${loaded.skipped.length} skipped)` : ''}`;
  const problems = [
    errors > 0 ? count(errors, 'error') : '',
    warnings > 0 ? count(warnings, 'warning') : '',
  ]
    .filter(Boolean)
    .join(', ');
  const text =
    errors > 0
      ? `${problems} in ${files}`
      : `${count(loaded.snapshot?.size ?? 0, 'entry', 'entries')} in ${files}, ${problems || 'no problems'}`;
  return { errors, warnings, text };
}

function jsonReport(
  loaded: LoadedApplication,
  diagnostics: readonly Diagnostic[],
  summary: Summary,
  cwd: string,
) {
  return {
    ok: summary.errors === 0,
    dir: loaded.dir,
    files: loaded.files.length,
    entries: loaded.snapshot?.size ?? 0,
    skipped: loaded.skipped.map((skip) => ({
      file: displayPath(skip.file, cwd),
      reason: skip.reason,
    })),
    errors: summary.errors,
    warnings: summary.warnings,
    diagnostics: diagnostics.map((d) => ({
      ...d,
      ...(d.location && { location: relativeTo(cwd, d.location) }),
      ...(d.related && {
        related: { ...d.related, location: relativeTo(cwd, d.related.location) },
      }),
    })),
  };
}

function relativeTo(cwd: string, location: SourceLocation): SourceLocation {
  return { ...location, file: displayPath(location.file, cwd) };
}

function count(n: number, singular: string, plural = `${singular}s`): string {
  return `${n} ${n === 1 ? singular : plural}`;
}

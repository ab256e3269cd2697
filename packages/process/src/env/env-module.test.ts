import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type Harness, harness, lua } from '../testing/system-harness.js';

// The env module through real Lua: names and IDs, each storage kind, read-only variables and
// storages, get_all, and bad input. The node's environment is the harness's `env`.

const NODE_ENV = { HOME_DIR: '/home/ada', LEVEL_FROM_OS: 'warn', UNDECLARED: 'not for Lua' };

let dir: string;
let node: Harness | undefined;

beforeEach(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'luact-env-'));
  writeFileSync(
    path.join(dir, 'config.env'),
    [
      '# settings',
      'APP_NAME=Shop Demo   # shown in the title',
      'export GREETING="hi # there"',
      "QUOTED='as is'",
      'APP_VERSION=2.0.0',
      '',
    ].join('\n'),
  );
});

afterEach(() => {
  node?.close();
  node = undefined;
  rmSync(dir, { recursive: true, force: true });
});

/** The application: storages of every kind, variables over them, and `app:main` running `body`. */
function entries(body: string) {
  return {
    'app:processes': { kind: 'process.host' },
    'app:memory': { kind: 'env.storage.memory' },
    'app:os': { kind: 'env.storage.os' },
    'app:static': { kind: 'env.storage.static', values: { REGION: 'eu', BLANK: '' } },
    'app:file': { kind: 'env.storage.file', file_path: path.join(dir, 'config.env') },
    'app:new_file': {
      kind: 'env.storage.file',
      file_path: path.join(dir, 'made', 'new.env'),
      auto_create: true,
    },
    'app:absent_file': { kind: 'env.storage.file', file_path: path.join(dir, 'absent.env') },
    'app:router': { kind: 'env.storage.router', storages: ['app:memory', 'app:file', 'app:os'] },
    'app:home': { kind: 'env.variable', variable: 'HOME_DIR', storage: 'app:os' },
    'app:level': {
      kind: 'env.variable',
      variable: 'LEVEL_FROM_OS',
      storage: 'app:router',
      default: 'info',
    },
    'app:app_name': { kind: 'env.variable', variable: 'APP_NAME', storage: 'app:router' },
    'app:greeting': { kind: 'env.variable', variable: 'GREETING', storage: 'app:file' },
    'app:quoted': { kind: 'env.variable', variable: 'QUOTED', storage: 'app:file' },
    'app:version': {
      kind: 'env.variable',
      variable: 'APP_VERSION',
      storage: 'app:file',
      read_only: true,
    },
    'app:region': { kind: 'env.variable', variable: 'REGION', storage: 'app:static' },
    'app:blank': {
      kind: 'env.variable',
      variable: 'BLANK',
      storage: 'app:static',
      default: 'from the default',
    },
    'app:created': { kind: 'env.variable', variable: 'CREATED', storage: 'app:new_file' },
    'app:absent': { kind: 'env.variable', variable: 'ABSENT', storage: 'app:absent_file' },
    'app:token': { kind: 'env.variable', storage: 'app:memory' },
    'app:legacy': { kind: 'env.variable', variable: 'NOT_IN_ENV', default: 'fallback' },
    'other:port': { kind: 'env.variable', storage: 'app:memory', default: '8080' },
    'app:main': lua(
      `local env = require("env")
      local function failure(value, err)
        assert(value == nil, "expected nil, got " .. tostring(value))
        return err:kind() .. ": " .. err:message()
      end
      return { main = function() ${body} end }`,
      ['env'],
    ),
  };
}

async function run(body: string) {
  node = await harness(entries(body), { env: NODE_ENV });
  const result = await node.run('app:main');
  if (!result.ok) throw new Error(`${result.error?.kind}: ${result.error?.message}`);
  return result.value;
}

describe('env.get', () => {
  it('finds a variable by its public name, by entry ID in its namespace, and by full entry ID', async () => {
    expect(
      await run(`return {
        env.get("HOME_DIR"), env.get("home"), env.get("app:home"),
        env.get("other:port"), failure(env.get("port")),
      }`),
    ).toEqual([
      '/home/ada',
      '/home/ada',
      '/home/ada',
      '8080',
      'NotFound: no env variable "port": no env.variable entry has that name or ID',
    ]);
  });

  it('reads .env files with comments, export and quotes; static values; defaults for empty values', async () => {
    expect(
      await run(`return {
        env.get("APP_NAME"), env.get("GREETING"), env.get("QUOTED"), env.get("REGION"),
        env.get("BLANK"), env.get("NOT_IN_ENV"),
      }`),
    ).toEqual(['Shop Demo', 'hi # there', 'as is', 'eu', 'from the default', 'fallback']);
  });

  it('is NOT_FOUND for an unknown name and a variable without value or default; INVALID for an empty name', async () => {
    expect(
      await run(`
        local ok, raised = pcall(env.get, 42)
        return {
          failure(env.get("NONEXISTENT_VAR_XYZ_123")),
          failure(env.get("ABSENT")),
          failure(env.get("")),
          ok, tostring(raised),
        }`),
    ).toEqual([
      'NotFound: no env variable "NONEXISTENT_VAR_XYZ_123": no env.variable entry has that name or ID',
      'NotFound: env variable ABSENT (app:absent) has no value and no default',
      'Invalid: env.get: the name is empty',
      false,
      expect.stringContaining('env.get expects a variable name'),
    ]);
  });
});

describe('env.set', () => {
  it('writes through a router to its first storage: the memory value shadows file and OS', async () => {
    expect(
      await run(`
        local before = { env.get("LEVEL_FROM_OS"), env.get("APP_NAME") }
        assert(env.set("LEVEL_FROM_OS", "debug") == true)
        assert(env.set("APP_NAME", "Override"))
        return { before, { env.get("LEVEL_FROM_OS"), env.get("APP_NAME") } }`),
    ).toEqual([
      ['warn', 'Shop Demo'],
      ['debug', 'Override'],
    ]);
    expect(readFileSync(path.join(dir, 'config.env'), 'utf8')).toContain('APP_NAME=Shop Demo');
  });

  it('rewrites the .env file in place, keeping its comments, and creates one with auto_create', async () => {
    expect(
      await run(`
        assert(env.set("GREETING", "hello"))
        assert(env.set("CREATED", 7))
        return { env.get("GREETING"), env.get("CREATED"), failure(env.set("ABSENT", "x")) }`),
    ).toEqual([
      'hello',
      '7',
      `NotFound: env file ${path.join(dir, 'absent.env')} of app:absent_file does not exist (auto_create: true creates it on the first write)`,
    ]);
    expect(readFileSync(path.join(dir, 'config.env'), 'utf8')).toBe(
      [
        '# settings',
        'APP_NAME=Shop Demo   # shown in the title',
        'GREETING=hello',
        "QUOTED='as is'",
        'APP_VERSION=2.0.0',
        '',
      ].join('\n'),
    );
    expect(readFileSync(path.join(dir, 'made', 'new.env'), 'utf8')).toBe('CREATED=7\n');
  });

  it('reaches a private variable (no public name) by its entry ID, with or without the namespace', async () => {
    expect(
      await run(`
        assert(env.set("app:token", "s3cret"))
        return { env.get("token"), env.get("app:token") }`),
    ).toEqual(['s3cret', 's3cret']);
  });

  it('refuses read-only variables and storages with PERMISSION_DENIED, without the value in the message', async () => {
    const value = await run(`
      return {
        failure(env.set("APP_VERSION", "top-secret-1")),
        failure(env.set("HOME_DIR", "top-secret-2")),
        failure(env.set("REGION", "top-secret-3")),
        env.get("APP_VERSION"),
      }`);
    expect(value).toEqual([
      'PermissionDenied: env variable APP_VERSION (app:version) is read-only',
      'PermissionDenied: env storage app:os (env.storage.os) is read-only',
      'PermissionDenied: env storage app:static (env.storage.static) is read-only',
      '2.0.0',
    ]);
    expect(JSON.stringify(node?.logs)).not.toContain('top-secret');
  });

  it('refuses an empty name, an unknown variable and a multi-line value for a file', async () => {
    expect(
      await run(`return {
        failure(env.set("", "value")),
        failure(env.set("NOPE", "value")),
        failure(env.set("GREETING", "two\\nlines")),
      }`),
    ).toEqual([
      'Invalid: env.set: the name is empty',
      'NotFound: no env variable "NOPE": no env.variable entry has that name or ID',
      `Invalid: a value for GREETING in env file ${path.join(dir, 'config.env')} (app:file) must be one line`,
    ]);
  });
});

describe('env.get_all', () => {
  it('gives every public variable that has a value, and nothing else of the environment', async () => {
    expect(await run('assert(env.set("app:token", "s3cret")) return env.get_all()')).toEqual({
      HOME_DIR: '/home/ada',
      LEVEL_FROM_OS: 'warn',
      APP_NAME: 'Shop Demo',
      GREETING: 'hi # there',
      QUOTED: 'as is',
      APP_VERSION: '2.0.0',
      REGION: 'eu',
      BLANK: 'from the default',
      NOT_IN_ENV: 'fallback',
    });
  });
});

import { decodeValue, encodeValues } from '@luact/lua';
import { afterEach, expect, it } from 'vitest';
import { type Harness, harness, WORKER } from './testing/harness.js';

let h: Harness | undefined;

afterEach(() => {
  h?.close();
  h = undefined;
});

/** Runs app:probe on app:processes and returns its value (or throws its error). */
async function runProbe(): Promise<unknown> {
  if (!h) throw new Error('no harness');
  const pid = h.system.spawn({ entry: 'app:probe', host: 'app:processes', args: encodeValues([]) });
  const outcome = await h.system.waitForExit(pid);
  if (!outcome.ok) throw outcome.error;
  return decodeValue(outcome.value);
}

/** An application of three services and a probe whose main is `body`. */
const withProbe = (body: string) => ({
  'app:processes': { kind: 'process.host' },
  'app:worker': { kind: 'process.lua', source: WORKER },
  'app:broken': {
    kind: 'process.lua',
    source:
      'return { main = function() error(errors.new{ message = "no db", kind = errors.INVALID }) end }',
  },
  'app:db': {
    kind: 'process.service',
    process: 'app:broken',
    host: 'app:processes',
    lifecycle: { auto_start: true },
  },
  'app:cache': {
    kind: 'process.service',
    process: 'app:worker',
    host: 'app:processes',
    input: ['cache'],
    lifecycle: { auto_start: true },
  },
  'app:idle': {
    kind: 'process.service',
    process: 'app:worker',
    host: 'app:processes',
    input: ['idle'],
  },
  'app:probe': {
    kind: 'process.lua',
    modules: ['supervisor', 'time'],
    source: `local supervisor, time = require("supervisor"), require("time")
return { main = function()
${body}
end }`,
  },
});

it('reads one service by its name in the caller namespace, with unix seconds since', async () => {
  h = await harness(
    withProbe(`local s = supervisor.status("cache")
      local full = supervisor.status("app:cache")
      return { state = s.state, attempts = s.attempts, same = full.state == s.state,
        recent = math.abs(s.since - time.now():unix()) < 60, no_error = s.last_error == nil }`),
  );
  await h.manager.start();
  expect(await runProbe()).toEqual({
    state: 'running',
    attempts: 0,
    same: true,
    recent: true,
    no_error: true,
  });
});

it('lists every service with its state and last error', async () => {
  h = await harness(
    withProbe(`local out = {}
      for id, s in pairs(supervisor.list()) do out[id] = s.state .. ":" .. (s.last_error or "") end
      return out`),
  );
  await h.manager.start();
  expect(await runProbe()).toEqual({
    'app:cache': 'running:',
    'app:db': 'failed:no db',
    'app:idle': 'unknown:',
  });
});

it('answers nil and a NOT_FOUND error for an unknown service', async () => {
  h = await harness(
    withProbe(`local s, err = supervisor.status("ghost")
      return { found = s ~= nil, kind = err:kind(), message = err:message() }`),
  );
  expect(await runProbe()).toEqual({
    found: false,
    kind: 'NotFound',
    message: 'no service app:ghost',
  });
});

it('rejects a status call without an ID, naming the call', async () => {
  h = await harness(withProbe('return supervisor.status(42)'));
  await expect(runProbe()).rejects.toThrow(/supervisor.status expects a service ID/);
});

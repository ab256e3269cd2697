import { mkdtemp, rm } from 'node:fs/promises';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { luact, type RunningCli, startLuact } from '../src/luact-cli.js';

// Item 9 of issue 8: what a client of the control socket can send must never crash the node.
const APP = 'test/isolation/fixtures/control';

let scratch: string;
let control: string;
let node: RunningCli;

beforeAll(async () => {
  scratch = await mkdtemp(path.join(tmpdir(), 'luact-control-requests-'));
  control = path.join(scratch, 'control.sock');
  node = startLuact(['run', APP, '--state-dir', path.join(scratch, 'state'), '--control', control]);
  await node.waitFor('stop with Ctrl+C');
});

afterAll(async () => {
  if (node.child.exitCode === null && node.child.signalCode === null) node.child.kill('SIGKILL');
  await node.exited;
  await rm(scratch, { recursive: true, force: true });
});

/** The node is alive and still answers `luact services`. */
async function expectNodeAnswers(): Promise<void> {
  expect(node.child.exitCode).toBeNull();
  const services = await luact(['services', '--control', control, '--json']);
  expect(services.stderr).toBe('');
  expect(JSON.parse(services.stdout)).toEqual([expect.objectContaining({ id: 'ctl:idle' })]);
}

/**
 * Writes `bytes` on a fresh connection (more with `more`) and collects what the node answers
 * until it closes the connection; bounded by 10 s.
 */
function exchange(bytes: string | Buffer, more?: (socket: Socket) => void): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(control);
    let answer = '';
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no end of answer within 10 s; got: ${answer.slice(0, 500)}`));
    }, 10_000);
    socket.on('data', (chunk) => {
      answer += chunk.toString('utf8');
    });
    // The node may close while we still write (a refused body): that is an answer, not a failure.
    socket.on('error', () => {});
    socket.on('close', () => {
      clearTimeout(timer);
      resolve(answer);
    });
    socket.write(bytes);
    more?.(socket);
  });
}

function statusOf(answer: string): number {
  return Number(/^HTTP\/1\.1 (\d{3})/.exec(answer)?.[1]);
}

function errorOf(answer: string): { kind: string; message: string } {
  const body = answer.slice(answer.indexOf('\r\n\r\n') + 4);
  return (JSON.parse(body) as { error: { kind: string; message: string } }).error;
}

describe('the control socket of a running node', () => {
  it('answers a request line whose URL does not parse with 400 and lives', async () => {
    const answer = await exchange('GET //[ HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
    expect(statusOf(answer)).toBe(400);
    expect(errorOf(answer)).toMatchObject({
      kind: 'INVALID',
      message: expect.stringContaining('//['),
    });
    await expectNodeAnswers();
  });

  it('answers bytes that are not HTTP with 400 and a JSON error', async () => {
    const answer = await exchange(Buffer.from([0, 1, 2, 0x0d, 0x0a, 0x0d, 0x0a, 0xff, 0xfe]));
    expect(statusOf(answer)).toBe(400);
    expect(errorOf(answer).kind).toBe('INVALID');
    await expectNodeAnswers();
  });

  it('answers CONNECT, which it does not serve, with 405 and a JSON error', async () => {
    const answer = await exchange('CONNECT node:80 HTTP/1.1\r\nHost: x\r\n\r\n');
    expect(statusOf(answer)).toBe(405);
    expect(errorOf(answer).kind).toBe('INVALID');
    await expectNodeAnswers();
  });

  it('refuses a body announced as 700 MB with 413 before reading it', async () => {
    const answer = await exchange(
      'POST /workflow/start HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n' +
        `Content-Length: ${700 * 1024 * 1024}\r\n\r\n{"entry":"`,
    );
    expect(statusOf(answer)).toBe(413);
    expect(errorOf(answer)).toMatchObject({
      kind: 'INVALID',
      message: expect.stringContaining('1 MiB'),
    });
    await expectNodeAnswers();
  });

  it('stops reading a chunked body once it passes the limit, and answers 413', async () => {
    let sent = 0;
    const answer = await exchange(
      'POST /workflow/start HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n',
      (socket) => {
        // 64 KiB chunks for as long as the node reads them, at most 64 MiB.
        const chunk = `10000\r\n${'x'.repeat(0x10000)}\r\n`;
        const pump = () => {
          while (!socket.destroyed && sent < 1024) {
            sent++;
            if (!socket.write(chunk)) {
              socket.once('drain', pump);
              return;
            }
          }
        };
        pump();
      },
    );
    expect(statusOf(answer)).toBe(413);
    // The node hung up long before the client could send 64 MiB.
    expect(sent).toBeLessThan(1024);
    await expectNodeAnswers();
  });

  it('luact workflow start with arguments over the limit says so instead of sending them', async () => {
    // Each argument under Linux's 128 KiB limit of one argument, together 1.5 MB.
    const args = Array.from({ length: 15 }, () => 'x'.repeat(100_000));
    const started = await luact(['workflow', 'start', 'ctl:waiter', ...args, '--control', control]);
    expect(started.code).toBe(1);
    expect(started.stderr).toContain("over the control endpoint's limit of 1048576 bytes (1 MiB)");
    await expectNodeAnswers();
  });

  it('answers a header flood with 431 and lives', async () => {
    const headers = Array.from({ length: 2_000 }, (_, i) => `X-Flood-${i}: ${'y'.repeat(64)}\r\n`);
    const answer = await exchange(`GET /services HTTP/1.1\r\nHost: x\r\n${headers.join('')}\r\n`);
    expect(statusOf(answer)).toBe(431);
    expect(errorOf(answer).kind).toBe('INVALID');
    await expectNodeAnswers();
  });

  it('answers a body that is not JSON with 400', async () => {
    const body = '{"entry": ';
    const answer = await exchange(
      `POST /workflow/start HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: ${body.length}\r\n\r\n${body}`,
    );
    expect(statusOf(answer)).toBe(400);
    expect(errorOf(answer).kind).toBe('INVALID');
  });

  it('holds a crowd of idle connections and answers once they are gone', async () => {
    const crowd = await Promise.all(
      Array.from(
        { length: 300 },
        () =>
          new Promise<Socket>((resolve) => {
            const socket = connect(control, () => resolve(socket));
            socket.on('error', () => resolve(socket));
          }),
      ),
    );
    // Half a request on each: the node waits for the rest of the headers.
    for (const socket of crowd) if (!socket.destroyed) socket.write('GET /services HTTP/1.1\r\n');
    expect(node.child.exitCode).toBeNull();
    for (const socket of crowd) socket.destroy();
    await expectNodeAnswers();
  });
});

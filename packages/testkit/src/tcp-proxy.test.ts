import { createServer, type Server, Socket } from 'node:net';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startTcpProxy, type TcpProxyHandle } from './tcp-proxy.js';
import { sleep } from './wait.js';

let echo: Server;
let echoPort: number;
let proxy: TcpProxyHandle;

beforeAll(async () => {
  echo = createServer((socket) => socket.pipe(socket));
  await new Promise<void>((resolve) => echo.listen(0, '127.0.0.1', resolve));
  echoPort = (echo.address() as { port: number }).port;
  proxy = await startTcpProxy({ targetPort: echoPort });
});

afterAll(async () => {
  await proxy?.close();
  await new Promise((resolve) => echo?.close(resolve));
});

async function connectClient(): Promise<{ socket: Socket; received: () => string }> {
  const socket = new Socket();
  let data = '';
  socket.on('data', (chunk) => {
    data += chunk.toString();
  });
  await new Promise<void>((resolve, reject) => {
    socket.once('error', reject);
    socket.connect(proxy.port, '127.0.0.1', resolve);
  });
  return { socket, received: () => data };
}

it('forwards both ways, holds everything while paused, and delivers it in order on resume', async () => {
  expect(proxy.url).toBe(`nats://127.0.0.1:${proxy.port}`);
  const { socket, received } = await connectClient();
  socket.write('one;');
  await expect.poll(received, { timeout: 10_000 }).toBe('one;');

  proxy.pause();
  expect(proxy.paused).toBe(true);
  socket.write('two;');
  socket.write('three;');
  await sleep(300);
  expect(received()).toBe('one;'); // silence, no error
  expect(socket.destroyed).toBe(false);

  proxy.resume();
  await expect.poll(received, { timeout: 10_000 }).toBe('one;two;three;');
  socket.destroy();
});

it('holds connections opened while paused, and drops connections on request', async () => {
  proxy.pause();
  const { socket, received } = await connectClient();
  socket.write('late;');
  await sleep(300);
  expect(received()).toBe('');
  proxy.resume();
  await expect.poll(received, { timeout: 10_000 }).toBe('late;');

  const closed = new Promise((resolve) => socket.once('close', resolve));
  proxy.dropConnections();
  await closed;
});

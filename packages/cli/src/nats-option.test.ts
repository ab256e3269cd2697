import { describe, expect, it } from 'vitest';
import { natsOption } from './nats-option.js';

describe('--nats', () => {
  it('reads server URLs separated by commas', () => {
    expect(natsOption('nats://127.0.0.1:4222')).toEqual({ servers: ['nats://127.0.0.1:4222'] });
    expect(natsOption('nats://a:4222, tls://b:4223,c:4224,localhost')).toEqual({
      servers: ['nats://a:4222', 'tls://b:4223', 'c:4224', 'localhost'],
    });
  });

  it('reads an entry ID as the nats.connection entry to use, and host:port as a server', () => {
    expect(natsOption('app:nats')).toEqual({ entry: 'app:nats' });
    expect(natsOption('app.cluster:main_nats')).toEqual({ entry: 'app.cluster:main_nats' });
    expect(natsOption('natsbox:4222')).toEqual({ servers: ['natsbox:4222'] });
  });

  it('refuses what is neither, naming it', () => {
    expect(() => natsOption('nats://a:4222,')).toThrow(/expected server URLs separated by commas/);
    expect(() => natsOption('http://a/path')).toThrow(
      '"http://a/path" is not a NATS server URL (nats://host:port) or a nats.connection entry ID (ns:name)',
    );
  });
});

import { open, readFile, truncate } from 'node:fs/promises';
import path from 'node:path';
import { encodeHeader } from '../file-format.js';
import { fileNameOf } from '../file-names.js';

/** Test helpers that reach into a FileJournal's files the way a crash or a bad disk would. */

export function streamPath(dir: string, id: string): string {
  return path.join(dir, fileNameOf(id));
}

/** Byte offsets of the frames of stream `id` (read from its file). */
export async function frameOffsets(dir: string, id: string): Promise<number[]> {
  const bytes = await readFile(streamPath(dir, id));
  const offsets: number[] = [];
  for (let offset = encodeHeader(id).length; offset < bytes.length; ) {
    offsets.push(offset);
    offset += 8 + bytes.readUInt32LE(offset);
  }
  return offsets;
}

/** Inverts the byte at `offset` of stream `id`'s file. */
export async function flipByte(dir: string, id: string, offset: number): Promise<void> {
  const handle = await open(streamPath(dir, id), 'r+');
  try {
    const byte = Buffer.alloc(1);
    await handle.read(byte, 0, 1, offset);
    byte[0] = (byte[0] ?? 0) ^ 0xff;
    await handle.write(byte, 0, 1, offset);
  } finally {
    await handle.close();
  }
}

export async function truncateStream(dir: string, id: string, length: number): Promise<void> {
  await truncate(streamPath(dir, id), length);
}

export async function streamSize(dir: string, id: string): Promise<number> {
  return (await readFile(streamPath(dir, id))).length;
}

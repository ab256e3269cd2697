import { LuactError } from '@luact/core';
import { encodeValues } from '@luact/lua';

/**
 * Values handed to the node (arguments, message payloads) as msgpack. A value with no msgpack
 * form (a function, a cycle, nesting deeper than the codec's limit) is the caller's to fix:
 * INVALID, naming `what` and where in the value, never a failure of the node.
 */
export function encodeArguments(values: readonly unknown[], what: string): Uint8Array {
  try {
    return encodeValues(values);
  } catch (error) {
    if (error instanceof TypeError || error instanceof RangeError) {
      throw new LuactError('INVALID', `${what} cannot be sent: ${error.message}`, {
        retryable: false,
      });
    }
    throw error;
  }
}

import {
  createHmac,
  createPrivateKey,
  createPublicKey,
  type KeyObject,
  sign,
  timingSafeEqual,
  verify,
} from 'node:crypto';
import { LuactError } from '@luact/core';

/**
 * JSON Web Tokens in compact form (RFC 7519 over RFC 7515): HMAC and RSA PKCS#1 v1.5 signatures.
 * The caller names the algorithm it expects; a token's header must name the same one, so a
 * token cannot choose how it is checked ("none" or an HMAC keyed with an RSA public key).
 */
export const JWT_ALGORITHMS = ['HS256', 'HS384', 'HS512', 'RS256', 'RS384', 'RS512'] as const;
export type JwtAlgorithm = (typeof JWT_ALGORITHMS)[number];

export function isJwtAlgorithm(name: string): name is JwtAlgorithm {
  return (JWT_ALGORITHMS as readonly string[]).includes(name);
}

function digestOf(algorithm: JwtAlgorithm): string {
  return `sha${algorithm.slice(2)}`;
}

function isHmac(algorithm: JwtAlgorithm): boolean {
  return algorithm.startsWith('HS');
}

/** A token that does not verify: INTERNAL and not retryable, as Wippy reports it. */
function rejected(message: string): LuactError {
  return new LuactError('INTERNAL', `crypto.jwt.verify: ${message}`, { retryable: false });
}

function invalid(where: string, message: string): LuactError {
  return new LuactError('INVALID', `crypto.jwt.${where}: ${message}`, { retryable: false });
}

function rsaKey(pem: Uint8Array, kind: 'private' | 'public', where: string): KeyObject {
  let key: KeyObject;
  try {
    // A public key may also be given as the certificate holding it.
    const text = Buffer.from(pem);
    key = kind === 'private' ? createPrivateKey(text) : createPublicKey(text);
  } catch {
    throw invalid(where, `the key is not a PEM ${kind} key`);
  }
  if (key.asymmetricKeyType !== 'rsa') {
    throw invalid(where, `the key is an ${key.asymmetricKeyType} key, not RSA`);
  }
  return key;
}

function signature(algorithm: JwtAlgorithm, input: string, key: Uint8Array, where: string): Buffer {
  if (isHmac(algorithm)) return createHmac(digestOf(algorithm), key).update(input).digest();
  const privateKey = rsaKey(key, 'private', where);
  try {
    return sign(digestOf(algorithm), Buffer.from(input), privateKey);
  } catch {
    // A key too short for the digest (512 bits and RS512) is the one way this fails.
    throw invalid(where, `the key is too short to sign ${algorithm}`);
  }
}

function segment(json: string): string {
  return Buffer.from(json).toString('base64url');
}

/** header and claims are JSON objects (text); the header gets `alg` and `typ` set here. */
export function signJwt(
  algorithm: JwtAlgorithm,
  header: Record<string, unknown>,
  claimsJson: string,
  key: Uint8Array,
): string {
  const input = `${segment(JSON.stringify({ ...header, alg: algorithm, typ: 'JWT' }))}.${segment(claimsJson)}`;
  return `${input}.${signature(algorithm, input, key, 'encode').toString('base64url')}`;
}

/** Strict base64url without padding: a segment decodes only if it is the canonical encoding. */
function decodeSegment(text: string, what: string): Buffer {
  const bytes = Buffer.from(text, 'base64url');
  if (!/^[A-Za-z0-9_-]*$/.test(text) || bytes.toString('base64url') !== text) {
    throw rejected(`the ${what} is not base64url`);
  }
  return bytes;
}

function jsonObject(bytes: Buffer, what: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(bytes.toString('utf8'));
  } catch {
    throw rejected(`the ${what} is not JSON`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw rejected(`the ${what} is not a JSON object`);
  }
  return value as Record<string, unknown>;
}

function signatureMatches(
  algorithm: JwtAlgorithm,
  input: string,
  given: Buffer,
  key: Uint8Array,
): boolean {
  if (isHmac(algorithm)) {
    const expected = signature(algorithm, input, key, 'verify');
    return expected.length === given.length && timingSafeEqual(expected, given);
  }
  return verify(digestOf(algorithm), Buffer.from(input), rsaKey(key, 'public', 'verify'), given);
}

export interface JwtCheck {
  readonly algorithm: JwtAlgorithm;
  /** The HMAC secret's bytes, or a PEM public key or certificate. */
  readonly key: Uint8Array;
  /** A token without `exp` is refused. */
  readonly requireExp: boolean;
  /** Unix milliseconds: `exp` must be later, `nbf` not later. */
  readonly nowMs: number;
}

function numericDate(claims: Record<string, unknown>, name: string): number | undefined {
  const value = claims[name];
  if (value === undefined) return undefined;
  if (typeof value !== 'number') throw rejected(`the ${name} claim is not a number`);
  return value;
}

/** The claims of a token that verifies, as its JSON text; anything else throws. */
export function verifyJwt(token: string, check: JwtCheck): string {
  const parts = token.split('.');
  if (parts.length !== 3)
    throw rejected('the token is not three base64url segments joined by dots');
  const [headerText, claimsText, signatureText] = parts as [string, string, string];
  const header = jsonObject(decodeSegment(headerText, 'header'), 'header');
  if (header.alg !== check.algorithm) {
    throw rejected(
      `the token is signed with ${JSON.stringify(header.alg)}, not ${check.algorithm}`,
    );
  }
  const given = decodeSegment(signatureText, 'signature');
  if (!signatureMatches(check.algorithm, `${headerText}.${claimsText}`, given, check.key)) {
    throw rejected('the signature does not match');
  }
  const claimsBytes = decodeSegment(claimsText, 'claims');
  const claims = jsonObject(claimsBytes, 'claims');
  const now = check.nowMs / 1000;
  const exp = numericDate(claims, 'exp');
  if (exp === undefined && check.requireExp) throw rejected('the token has no exp claim');
  if (exp !== undefined && now >= exp) throw rejected('the token has expired');
  const nbf = numericDate(claims, 'nbf');
  if (nbf !== undefined && now < nbf) throw rejected('the token is not valid yet (nbf)');
  return claimsBytes.toString('utf8');
}

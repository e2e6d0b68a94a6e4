import type { RequestStamp } from '../core/replay.js';
import { createHmac, createPrivateKey, createPublicKey, diffieHellman, hkdfSync, timingSafeEqual } from 'node:crypto';

/** ZeroMQ's Z85 alphabet (RFC 32): 85 printable characters, 5 of them per 4 bytes. */
const ALPHABET = '0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.-:+=^!/*?&<>()[]{}@%$#';
const VALUE = new Map([...ALPHABET].map((c, i) => [c, i]));
/** A raw X25519 private key wrapped as PKCS#8 DER: this prefix, then the 32 key bytes. */
const PKCS8_X25519_PREFIX = Buffer.from('302e020100300506032b656e04220420', 'hex');

/** Encodes bytes as Z85 text. Throws RangeError when the length is not a multiple of 4. */
export function z85Encode(bytes: Uint8Array): string {
  if (bytes.length % 4 !== 0) throw new RangeError('Z85 encodes a multiple of 4 bytes');
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let out = '';
  for (let i = 0; i < bytes.length; i += 4) {
    let value = view.getUint32(i);
    let group = '';
    for (let j = 0; j < 5; j++) {
      group = ALPHABET[value % 85]! + group;
      value = Math.floor(value / 85);
    }
    out += group;
  }
  return out;
}

/**
 * Decodes Z85 text. Throws RangeError for a length that is not a multiple of 5, a character
 * outside the alphabet, or a group worth more than 32 bits.
 */
export function z85Decode(text: string): Buffer {
  if (text.length % 5 !== 0) throw new RangeError('Z85 text is a multiple of 5 characters');
  const out = Buffer.alloc((text.length / 5) * 4);
  for (let i = 0; i < text.length; i += 5) {
    let value = 0;
    for (let j = 0; j < 5; j++) {
      const digit = VALUE.get(text[i + j]!);
      if (digit === undefined) throw new RangeError(`"${text[i + j]}" is not a Z85 character`);
      value = value * 85 + digit;
    }
    if (value > 0xffff_ffff) throw new RangeError('Z85 group overflows 32 bits');
    out.writeUInt32BE(value, (i / 5) * 4);
  }
  return out;
}

/** True for Z85 text of a 32-byte CURVE key. */
export function isCurveKey(text: string): boolean {
  if (text.length !== 40) return false;
  try {
    z85Decode(text);
    return true;
  } catch {
    return false;
  }
}

/** The CURVE (X25519) public key, in Z85, that belongs to a Z85 secret key. Throws RangeError on bad text. */
export function curvePublicKey(secretKey: string): string {
  const raw = z85Decode(secretKey);
  if (raw.length !== 32) throw new RangeError('a CURVE key is 32 bytes');
  const privateKey = createPrivateKey({ key: Buffer.concat([PKCS8_X25519_PREFIX, raw]), format: 'der', type: 'pkcs8' });
  const spki = createPublicKey(privateKey).export({ format: 'der', type: 'spki' });
  return z85Encode(spki.subarray(spki.length - 32));
}

/** A raw X25519 public key wrapped as SPKI DER: this prefix, then the 32 key bytes. */
const SPKI_X25519_PREFIX = Buffer.from('302a300506032b656e032100', 'hex');

/**
 * The key two nodes share for signing requests: HKDF-SHA256 of the X25519 agreement between one
 * node's secret and the other's public key (either way round gives the same key). Throws RangeError on bad text.
 */
export function requestKey(secretKey: string, peerPublicKey: string): Buffer {
  const secret = z85Decode(secretKey);
  const pub = z85Decode(peerPublicKey);
  if (secret.length !== 32 || pub.length !== 32) throw new RangeError('a CURVE key is 32 bytes');
  const shared = diffieHellman({
    privateKey: createPrivateKey({ key: Buffer.concat([PKCS8_X25519_PREFIX, secret]), format: 'der', type: 'pkcs8' }),
    publicKey: createPublicKey({ key: Buffer.concat([SPKI_X25519_PREFIX, pub]), format: 'der', type: 'spki' }),
  });
  return Buffer.from(hkdfSync('sha256', shared, Buffer.alloc(0), 'entangled request signature', 32));
}

/** Longest epoch a seal carries (LIMITS.epoch). */
const MAX_EPOCH_BYTES = 64;
const MAC_BYTES = 32;

/**
 * A request's second message part: its stamp (the sender's epoch and counter) and the signature
 * of the stamp and the request's bytes together, so neither can be replayed with the other.
 * Layout: epoch length (1 byte), epoch (UTF-8), counter (uint64 BE), HMAC-SHA256 of all that
 * followed by the request's bytes. Throws RangeError on an epoch too long or a counter that is
 * not a safe non-negative integer.
 */
export function sealRequest(key: Uint8Array, payload: Uint8Array, stamp: RequestStamp): Buffer {
  const epoch = Buffer.from(stamp.epoch, 'utf8');
  if (epoch.length > MAX_EPOCH_BYTES) throw new RangeError('an epoch is at most 64 bytes');
  if (!Number.isSafeInteger(stamp.counter) || stamp.counter < 0) throw new RangeError('a counter is a safe non-negative integer');
  const head = Buffer.alloc(1 + epoch.length + 8);
  head[0] = epoch.length;
  epoch.copy(head, 1);
  head.writeBigUInt64BE(BigInt(stamp.counter), 1 + epoch.length);
  const mac = createHmac('sha256', key).update(head).update(payload).digest();
  return Buffer.concat([head, mac]);
}

/** A seal split into its parts (see sealRequest), not yet checked against any key. */
export interface OpenedSeal {
  readonly stamp: RequestStamp;
  readonly head: Buffer;
  readonly mac: Buffer;
}

/** The parts of a seal, or null when it is not one (wrong length, a counter past 2^53). */
export function openSeal(seal: Buffer): OpenedSeal | null {
  const epochBytes = seal[0];
  if (epochBytes === undefined || epochBytes > MAX_EPOCH_BYTES || seal.length !== 1 + epochBytes + 8 + MAC_BYTES) return null;
  const counter = seal.readBigUInt64BE(1 + epochBytes);
  if (counter > BigInt(Number.MAX_SAFE_INTEGER)) return null;
  const head = seal.subarray(0, 1 + epochBytes + 8);
  return {
    stamp: { epoch: seal.toString('utf8', 1, 1 + epochBytes), counter: Number(counter) },
    head,
    mac: seal.subarray(head.length),
  };
}

/** Whether an opened seal signs `payload` under `key` (compared in constant time). */
export function checkSeal(key: Uint8Array, payload: Uint8Array, opened: OpenedSeal): boolean {
  const want = createHmac('sha256', key).update(opened.head).update(payload).digest();
  return timingSafeEqual(want, opened.mac);
}

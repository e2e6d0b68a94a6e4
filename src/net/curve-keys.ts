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

/** The signature of one request's bytes under a shared request key. */
export function signRequest(key: Uint8Array, payload: Uint8Array): Buffer {
  return createHmac('sha256', key).update(payload).digest();
}

/** Whether `mac` is the signature of `payload` under `key` (compared in constant time). */
export function checkRequestSignature(key: Uint8Array, payload: Uint8Array, mac: Uint8Array): boolean {
  const want = signRequest(key, payload);
  return mac.length === want.length && timingSafeEqual(want, mac);
}

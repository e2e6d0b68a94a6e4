import { Packr } from 'msgpackr';
import {
  LIMITS,
  checkFrame,
  checkReply,
  checkRequest,
  type Checked,
  type ChunkReply,
  type Frame,
  type Reply,
  type Request,
} from '../core/frame.js';
import { md5Of } from '../io/snapshot.js';

/** msgpackr's options for every frame, request and reply (the bench's bare pipeline uses them too). */
export const PACK_OPTIONS = Object.freeze({ useRecords: false, mapsAsObjects: true, moreTypes: false, int64AsType: 'number' } as const);
const packr = new Packr(PACK_OPTIONS);

/**
 * Largest message any socket accepts: one chunk plus its envelope. ZeroMQ drops a bigger one
 * (and the connection) before we allocate it, so no peer can make a node hold more.
 */
export const MAX_MESSAGE_BYTES = LIMITS.chunk + 64 * 1024;

export function encode(value: Frame | Request | Reply): Buffer {
  return packr.pack(value);
}

/** A reply already encoded (a chunk whose bytes were read straight into its message). */
export class EncodedReply {
  constructor(readonly bytes: Buffer) {}
}

/** The msgpack key `data` (fixstr 4) and a bin 32 header of `length` bytes. */
const DATA_KEY = Buffer.from([0xa4, 0x64, 0x61, 0x74, 0x61]);
const BIN32 = 0xc6;
const FIXMAP = 0x80;
const MAP16 = 0xde;

/**
 * A chunk reply (`ChunkReply` with its `data` last) as one message with room for `length`
 * bytes of content: `data` is that room, to be filled in place (a file read lands in the
 * message itself: no second buffer, no copy). Decodes like `encode` of the same reply.
 */
export function chunkReplyBuffer(fields: Omit<ChunkReply, 'data'>, length: number): { reply: EncodedReply; data: Buffer } {
  const head = packr.pack({ v: fields.v, t: fields.t, name: fields.name, md5: fields.md5, offset: fields.offset, size: fields.size });
  const at = head.length + DATA_KEY.length + 5;
  const bytes = Buffer.allocUnsafe(at + length);
  head.copy(bytes, 0);
  // The map's count (a fixmap's first byte, or a map 16's two after it: msgpackr writes the
  // latter) says six keys; one more follows.
  if (head[0] === (FIXMAP | 6)) bytes[0] = FIXMAP | 7;
  else if (head[0] === MAP16 && head.readUInt16BE(1) === 6) bytes.writeUInt16BE(7, 1);
  else throw new Error('unexpected chunk reply header');
  DATA_KEY.copy(bytes, head.length);
  bytes[head.length + DATA_KEY.length] = BIN32;
  bytes.writeUInt32BE(length, head.length + DATA_KEY.length + 1);
  return { reply: new EncodedReply(bytes), data: bytes.subarray(at) };
}

function unpack(bytes: Uint8Array): Checked<unknown> {
  try {
    return { ok: true, value: packr.unpack(bytes) };
  } catch {
    return { ok: false, reason: 'not msgpack' };
  }
}

/** What the receiving node allows: the sender it expects and the names it lists. */
export interface FrameScope {
  readonly peer: string;
  readonly names: ReadonlySet<string>;
}

/** A well-formed frame from the right sender about a name this node does not list (`unlisted`). */
export interface UnlistedRejection {
  readonly ok: false;
  readonly reason: string;
  readonly unlisted: string;
}

/**
 * Decodes and checks a PUB frame from `scope.peer`: shape, sender, a listed name, and content
 * that hashes to its md5. Returns the frame or the reason it must be dropped (with the name,
 * when the only fault is a name this node does not list).
 */
export function decodeFrame(bytes: Uint8Array, scope: FrameScope): Checked<Frame> | UnlistedRejection {
  const raw = unpack(bytes);
  if (!raw.ok) return raw;
  const checked = checkFrame(raw.value);
  if (!checked.ok) return checked;
  const frame = checked.value;
  if (frame.from !== scope.peer) return { ok: false, reason: `sender "${frame.from}" is not ${scope.peer}` };
  if (frame.t !== 'hb' && !scope.names.has(frame.name)) return { ok: false, reason: 'name not listed here', unlisted: frame.name };
  if (frame.t === 'change' && frame.data !== null && md5Of(frame.data) !== frame.md5) return { ok: false, reason: 'content does not match md5' };
  return checked;
}

/** Decodes and checks a request arriving on the REP socket. */
export function decodeRequest(bytes: Uint8Array, peers: ReadonlySet<string>): Checked<Request> {
  const raw = unpack(bytes);
  if (!raw.ok) return raw;
  const checked = checkRequest(raw.value);
  if (!checked.ok) return checked;
  if (!peers.has(checked.value.from)) return { ok: false, reason: `unknown peer "${checked.value.from}"` };
  if (checked.value.t === 'take' && checked.value.data !== null && md5Of(checked.value.data) !== checked.value.md5) {
    return { ok: false, reason: 'content does not match md5' };
  }
  return checked;
}

/** Decodes and checks a reply; content replies must hash to their md5. */
export function decodeReply(bytes: Uint8Array): Checked<Reply> {
  const raw = unpack(bytes);
  if (!raw.ok) return raw;
  const checked = checkReply(raw.value);
  if (checked.ok && checked.value.t === 'content' && checked.value.data && md5Of(checked.value.data) !== checked.value.md5) {
    return { ok: false, reason: 'content does not match md5' };
  }
  return checked;
}

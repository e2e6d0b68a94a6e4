import assert from 'node:assert/strict';
import { test } from 'node:test';
import { LIMITS } from '../../src/core/frame.js';
import { chunkReplyBuffer, decodeReply, encode } from '../../src/net/codec.js';

const fields = { v: 1 as const, t: 'chunk' as const, name: 'big.dat', md5: 'ab'.repeat(16), offset: LIMITS.chunk, size: 3 * LIMITS.chunk + 5 };

test('a chunk reply filled in place decodes as the encoded reply would', () => {
  for (const length of [0, 1, 200, LIMITS.chunk]) {
    const { reply, data } = chunkReplyBuffer(fields, length);
    assert.equal(data.length, length);
    for (let i = 0; i < length; i++) data[i] = (i * 7) & 0xff;
    const got = decodeReply(reply.bytes);
    assert.ok(got.ok, got.ok ? '' : got.reason);
    const want = decodeReply(encode({ ...fields, data: Buffer.from(data) }));
    assert.ok(want.ok);
    assert.deepEqual(got.value, want.value);
    // The content is the room itself, not a copy: a chunk costs one buffer.
    assert.equal(data.buffer, reply.bytes.buffer);
  }
});

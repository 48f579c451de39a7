import { describe, expect, it } from 'vitest';
import { signBody, verifySignature } from '../../src/forward/webhook.js';
import { changeKind } from '../../src/forward/outbox.js';

describe('webhook signature', () => {
  it.each([
    ['hello', 'secret', 'sha256=88aab3ede8d3adf94d26ab90d3bafd4a2083070c3bcce9c014ee04a443847c0b'],
    ['{"a":1}', 's3cr3t', 'sha256=d42927434049e0b8c73ce887062238cc1c6bb6644bfe66e66d8dd0f30b85679e'],
  ])('HMAC-SHA256 of %j with %j (as openssl dgst -hmac computes it)', (body, secret, expected) => {
    expect(signBody(body, secret)).toBe(expected);
    expect(verifySignature(Buffer.from(body), secret, expected)).toBe(true);
  });

  it('rejects a wrong secret, a changed body, a missing or malformed header', () => {
    const header = signBody('{"a":1}', 's3cr3t');
    expect(verifySignature('{"a":1}', 'other', header)).toBe(false);
    expect(verifySignature('{"a":2}', 's3cr3t', header)).toBe(false);
    expect(verifySignature('{"a":1}', 's3cr3t', undefined)).toBe(false);
    expect(verifySignature('{"a":1}', 's3cr3t', header.replace('sha256=', ''))).toBe(false);
  });
});

describe('event kind of a sale change', () => {
  it.each([
    [null, 'completed', 'created'],
    [null, 'refunded', 'created'],
    ['completed', 'refunded', 'reversed'],
    ['completed', 'cancelled', 'reversed'],
    ['refunded', 'cancelled', 'updated'],
    ['refunded', 'completed', 'updated'],
    ['completed', 'completed', 'updated'],
  ] as const)('%s → %s is %s', (previous, status, kind) => {
    expect(changeKind(previous, status)).toBe(kind);
  });
});

import { describe, expect, it } from 'vitest';
import { AllowList, allowListProblem } from '../../src/kitchen/allow-list.js';
import { decodeMessage, parseOrder } from '../../src/kitchen/message.js';
import { AddressRateLimit } from '../../src/kitchen/rate-limit.js';

describe('kitchen message decoding and parsing', () => {
  it('decodes UTF-8 (BOM dropped), else Windows-1252 including the 0x80-0x9F range', () => {
    expect(decodeMessage(Buffer.from('\uFEFF{"a":"Crème brûlée 🍔"}', 'utf8'))).toEqual({ text: '{"a":"Crème brûlée 🍔"}', encoding: 'utf-8' });
    // "€ Café – Ŝ" is not all Windows-1252; "€ Café – œ" is: 0x80, 0xE9, 0x96, 0x9C.
    const cp1252 = Buffer.from([0x80, 0x20, 0x43, 0x61, 0x66, 0xe9, 0x20, 0x96, 0x20, 0x9c]);
    expect(decodeMessage(cp1252)).toEqual({ text: '€ Café – œ', encoding: 'windows-1252' });
  });

  it.each([
    [
      '{"table":"Table 1","positions":[{"product":"Burger","amount":"2"},{"product":"Fries","amount":1.5}]}',
      {
        ok: true,
        table: 'Table 1',
        positions: [
          { product: 'Burger', amount: '2' },
          { product: 'Fries', amount: '1.5' },
        ],
      },
    ],
    [
      '{"table":7,"positions":[{"product":"Tea","amount":1e2,"note":"x"}],"extra":true}',
      { ok: true, table: '7', positions: [{ product: 'Tea', amount: '100' }] },
    ],
    ['{"table":"T","positions":[]}', { ok: true, table: 'T', positions: [] }],
  ])('accepts %s', (text, expected) => {
    expect(parseOrder(text)).toEqual(expected);
  });

  it.each([
    ['', 'empty message'],
    ['hello', 'not JSON'],
    ['[1]', 'not a JSON object'],
    ['{"positions":[]}', '"table" is missing'],
    ['{"table":"T"}', '"positions" is missing'],
    ['{"table":"T","positions":[{"amount":"1"}]}', 'positions[0].product'],
    ['{"table":"T","positions":[{"product":"A","amount":"two"}]}', 'positions[0].amount'],
    ['{"table":"T","positions":[{"product":"A"}]}', 'positions[0].amount'],
    ['{"table":null,"positions":[]}', '"table" is missing'],
  ])('rejects %j with a reason', (text, reason) => {
    const parsed = parseOrder(text);
    expect(parsed.ok).toBe(false);
    expect(parsed.ok ? '' : parsed.reason).toContain(reason);
  });

  it('allow list: addresses and subnets, IPv4-mapped IPv6 clients, bad entries named', () => {
    const allow = new AllowList(['192.168.1.0/24', '10.1.2.3', '::1']);
    expect(allow.admits('192.168.1.77')).toBe(true);
    expect(allow.admits('::ffff:192.168.1.77')).toBe(true);
    expect(allow.admits('10.1.2.3')).toBe(true);
    expect(allow.admits('10.1.2.4')).toBe(false);
    expect(allow.admits('::1')).toBe(true);
    expect(allow.admits('127.0.0.1')).toBe(false);
    expect(new AllowList(undefined).admits('203.0.113.9')).toBe(true);
    expect(allowListProblem('192.168.1.0/33')).toContain('0-32');
    expect(allowListProblem('kitchen-tablet')).toContain('CIDR');
  });

  it('rate limit: a burst of the rate per address, refilled over time', () => {
    let t = 0;
    const limit = new AddressRateLimit(2, () => t);
    expect([limit.take('a'), limit.take('a'), limit.take('a'), limit.take('b')]).toEqual([true, true, false, true]);
    t += 500;
    expect([limit.take('a'), limit.take('a')]).toEqual([true, false]);
  });
});

import { describe, expect, it } from 'vitest';
import { SalesFeed } from '../../src/domain/sales-feed.js';

describe('SalesFeed', () => {
  it.each([
    [
      'in seq order',
      [
        [1, 'a'],
        [2, 'b'],
        [3, 'c'],
        [5, 'd'],
      ],
    ],
    [
      'in any order',
      [
        [5, 'd'],
        [2, 'b'],
        [3, 'c'],
        [1, 'a'],
      ],
    ],
  ] as [string, [number, string][]][])('loads entries %s and lists each sale at its latest seq', (_, entries) => {
    const current = new Map(entries.map(([seq, id]) => [id, seq]));
    const feed = new SalesFeed((id) => current.get(id));
    feed.load(entries.map(([seq, identifier]) => ({ seq, identifier })));
    expect(feed.between(0, 10, 100)).toEqual([
      { seq: 1, identifier: 'a' },
      { seq: 2, identifier: 'b' },
      { seq: 3, identifier: 'c' },
      { seq: 5, identifier: 'd' },
    ]);
    current.set('b', 6);
    feed.record(6, 'b', true);
    expect(feed.between(1, 10, 100).map((e) => e.identifier)).toEqual(['c', 'd', 'b']);
    expect(feed.between(0, 3, 2)).toEqual([
      { seq: 1, identifier: 'a' },
      { seq: 3, identifier: 'c' },
    ]);
  });
});

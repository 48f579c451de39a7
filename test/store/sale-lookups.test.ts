import { describe, expect, it } from 'vitest';
import { SaleLookups } from '../../src/store/postgres/sale-lookups.js';

// What a PostgreSQL round may skip (deleting the lines and payments of a sale it inserts) rests on
// this bookkeeping: anything it cannot be sure of counts as stored.
describe('SaleLookups (what a lookup of a stored sale may still rely on)', () => {
  it('knows a sale absent at its lookup until a round takes it', () => {
    const absent = new SaleLookups();
    absent.absent('TAB-1:1', absent.mark());
    expect(absent.take('TAB-1:1')).toBe(true);
    // Taken by a round: stored from then on (a retry after a failed round deletes first).
    expect(absent.take('TAB-1:1')).toBe(false);
    expect(absent.take('TAB-1:2')).toBe(false);
  });

  it('ignores a lookup that overlapped a committed round writing the same sale, or too many rounds', () => {
    const absent = new SaleLookups();
    const mark = absent.mark();
    absent.committed(new Set(['TAB-1:1']));
    absent.committed(new Set(['TAB-1:2']));
    // The lookups' snapshots may predate those commits.
    absent.absent('TAB-1:1', mark);
    absent.absent('TAB-1:3', mark);
    expect(absent.take('TAB-1:1')).toBe(false);
    expect(absent.take('TAB-1:3')).toBe(true);
    const early = absent.mark();
    for (let i = 0; i < 20; i++) absent.committed(new Set());
    absent.absent('TAB-1:4', early);
    expect(absent.take('TAB-1:4')).toBe(false);
  });

  it('says whether a row read at a mark still holds (a read ahead)', () => {
    const lookups = new SaleLookups();
    const mark = lookups.mark();
    lookups.committed(new Set(['TAB-1:1']));
    expect(lookups.unchanged('TAB-1:1', mark)).toBe(false);
    expect(lookups.unchanged('TAB-1:2', mark)).toBe(true);
    lookups.reset();
    expect(lookups.unchanged('TAB-1:2', mark)).toBe(false);
  });

  it('forgets everything when another process may have written (a refresh), also for a lookup running meanwhile', () => {
    const absent = new SaleLookups();
    absent.absent('TAB-1:1', absent.mark());
    const running = absent.mark();
    absent.reset();
    absent.absent('TAB-1:2', running);
    expect(absent.take('TAB-1:1')).toBe(false);
    expect(absent.take('TAB-1:2')).toBe(false);
  });
});

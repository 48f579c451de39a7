import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { inlineParams } from '../../src/store/postgres/sql-literals.js';
import { skipPostgres } from '../postgres.js';
import { usePostgresCluster } from '../postgres-suite.js';

/** A commit round sent as one query string writes its values as literals: the database must read exactly what the parameters carried. */
describe.skipIf(skipPostgres)('parameters written as SQL literals', () => {
  const db = usePostgresCluster();

  const tricky = [
    "it's",
    'back\\slash \\\\ and \\x41 \\n',
    'quote " and "" and {brace} , comma',
    'NULL',
    '',
    ' spaced ',
    'emoji 🍰 and accents éà',
    "E'x'",
    '$1 $2 dollar $$ quoted $$',
    JSON.stringify({ a: 'b"c\\d', nested: { list: [1, 'two', null] }, nul: '\u0000', lone: '\ud800' }),
  ];

  it.each([
    ['text[]', [...tricky, null]],
    ['json[]', tricky.slice(-1)],
    ['numeric[]', ['1.50', '-0.001', null, '123456789012345678901234567890.12']],
    ['integer[]', [1, -2, null, 2147483647]],
    ['bigint[]', [9007199254740991, 0]],
    ['boolean[]', [true, false, null]],
    ['timestamptz[]', ['2026-12-03T17:50:18.505Z', null]],
    ['date[]', ['2026-12-03']],
    ['bytea[]', [Buffer.from([0, 1, 2, 255, 92, 34, 39]), null, Buffer.alloc(0)]],
    ['text', tricky[1]],
    ['json', tricky.at(-1)],
    ['bytea', Buffer.from('body with \\ and \' and "', 'utf8')],
    ['text', null],
    ['text[]', []],
  ])('%s', async (type, value) => {
    const client = new pg.Client({ connectionString: await db.cluster.createDatabase() });
    await client.connect();
    try {
      const sql = `SELECT $1::${type}::text AS v, $2::text AS w`;
      const params = [value, '2nd'];
      const bound = await client.query(sql, params);
      const inline = await client.query(inlineParams(sql, params));
      expect(inline.rows).toEqual(bound.rows);
    } finally {
      await client.end();
    }
  });

  it('a statement naming a parameter it has no value for is refused, not sent', () => {
    expect(() => inlineParams('SELECT $1, $2', ['a'])).toThrow(/\$2/);
  });
});

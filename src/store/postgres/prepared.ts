import type pg from 'pg';

/** Statement text → its prepared statement's name (the same on every connection). */
const statementNames = new Map<string, string>();
/** Beyond this many distinct texts, statements run unnamed: the server keeps every name per connection. */
const MAX_PREPARED = 500;

/**
 * A statement the push path runs over and over, as a named prepared statement: node-postgres
 * parses it once per connection and sends only Bind/Execute afterwards, and the server keeps its
 * plan (planning an INSERT … SELECT FROM unnest … ON CONFLICT costs more than running it for a
 * few rows). Parameters are always bound: the text must not hold values.
 */
export function prepared<R extends pg.QueryResultRow = pg.QueryResultRow>(
  client: pg.ClientBase | Pick<pg.Pool, 'query'>,
  text: string,
  values: unknown[] = [],
): Promise<pg.QueryResult<R>> {
  let name = statementNames.get(text);
  if (name === undefined && statementNames.size < MAX_PREPARED) statementNames.set(text, (name = `tabshop_${statementNames.size + 1}`));
  return client.query<R>(name === undefined ? { text, values } : { name, text, values });
}

import { FixturePathError, readFixtures, type FixtureSet } from '../integrate/fixtures.js';
import { ExitError } from './exit.js';

/** Reads FILES|DIR arguments; a missing path or an empty selection is a usage error. */
export async function readFixtureArgs(command: string, paths: string[]): Promise<FixtureSet> {
  let set: FixtureSet;
  try {
    set = await readFixtures(paths);
  } catch (err) {
    if (err instanceof FixturePathError) throw new ExitError(2, `${command}: ${err.message}`);
    throw err;
  }
  if (set.files.length === 0) throw new ExitError(2, `${command}: no fixture files (*.json, *.ndjson, *.jsonl) in ${paths.join(', ')}`);
  return set;
}

import { readFileSync } from 'node:fs';

/** The package version; src/ops and dist/ops are both two levels below the package root. */
export const VERSION: string = (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;

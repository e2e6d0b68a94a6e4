import { readFileSync } from 'node:fs';

/** This build's version, from package.json (which ships with the built code). */
export const VERSION: string = (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }).version;

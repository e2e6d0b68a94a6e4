import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Case } from '../helpers/table.js';

// Habit 1 of STYLE.md: src/core is the pure decision core. Its files may import only other
// src/core files by relative path: no node:* modules, no packages, nothing outside src/core.

const CORE = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../src/core');


/** Every module specifier in `source`: static imports and re-exports (any line layout), side-effect imports, dynamic imports and require calls. */
function specifiers(source: string): string[] {
  const text = source.replace(/\/\*[\s\S]*?\*\//g, '').replace(/^\s*\/\/.*$/gm, '');
  const patterns = [
    /\b(?:import|export)\b[^'"`;]*?\bfrom\s*['"]([^'"]+)['"]/g,
    /\bimport\s*['"]([^'"]+)['"]/g,
    /\bimport\s*\(\s*['"`]([^'"`]+)['"`]\s*\)/g,
    /\brequire\s*\(\s*['"`]([^'"`]+)['"`]\s*\)/g,
  ];
  const out: string[] = [];
  for (const re of patterns) for (const m of text.matchAll(re)) out.push(m[1]!);
  return out;
}

/** Why `spec`, imported from `file`, is not allowed in src/core; null when it is. */
function violation(file: string, spec: string): string | null {
  if (!spec.startsWith('./') && !spec.startsWith('../')) return 'not a relative import (node:* or a package)';
  const target = path.resolve(path.dirname(file), spec);
  if (target !== CORE && !target.startsWith(CORE + path.sep)) return 'leaves src/core';
  const source = target.replace(/\.js$/, '.ts');
  if (!existsSync(source)) return `no such file ${path.relative(CORE, source)}`;
  return null;
}

function coreFiles(): string[] {
  return readdirSync(CORE, { recursive: true, encoding: 'utf8' })
    .filter((f) => f.endsWith('.ts'))
    .map((f) => path.join(CORE, f))
    .sort();
}

describe('the import scanner itself', () => {
  const cases: Case<string, string[]>[] = [
    { description: 'a named import', given: "import { readFileSync } from 'node:fs';", expect: ['node:fs'] },
    { description: 'a type-only import', given: 'import type { Md5 } from "./types.js";', expect: ['./types.js'] },
    { description: 'a default import', given: "import path from 'path';", expect: ['path'] },
    { description: 'a namespace import', given: "import * as zmq from 'zeromq';", expect: ['zeromq'] },
    { description: 'a multi-line import', given: "import {\n  a,\n  b,\n} from '../io/snapshot.js';", expect: ['../io/snapshot.js'] },
    { description: 'a re-export', given: "export { x } from './x.js';\nexport * from 'pino';", expect: ['./x.js', 'pino'] },
    { description: 'a side-effect import', given: "import 'reflect-metadata';", expect: ['reflect-metadata'] },
    { description: 'a dynamic import', given: "const m = await import('node:crypto');", expect: ['node:crypto'] },
    { description: 'a require call', given: "const fs = require('fs');", expect: ['fs'] },
    { description: 'a commented-out import is ignored', given: "// import fs from 'node:fs';\n/* import x from 'y'; */", expect: [] },
    { description: 'no imports', given: 'export const a = 1;', expect: [] },
  ];
  for (const c of cases) {
    test(c.description, () => {
      assert.deepEqual(specifiers(c.given).sort(), [...c.expect].sort());
    });
  }

  const verdicts: Case<string, boolean>[] = [
    { description: './types.js is allowed', given: './types.js', expect: true },
    { description: 'node:fs is refused', given: 'node:fs', expect: false },
    { description: 'a bare package is refused', given: 'zod', expect: false },
    { description: 'a file outside src/core is refused', given: '../io/snapshot.js', expect: false },
    { description: 'a missing core file is refused', given: './no-such-module.js', expect: false },
  ];
  for (const c of verdicts) {
    test(`verdict: ${c.description}`, () => {
      assert.equal(violation(path.join(CORE, 'decide.ts'), c.given) === null, c.expect);
    });
  }
});

describe('src/core imports only src/core', () => {
  const files = coreFiles();

  test('src/core holds the decision modules', () => {
    const names = files.map((f) => path.relative(CORE, f));
    for (const expected of ['decide.ts', 'status.ts', 'frame.ts', 'types.ts', 'errors.ts']) {
      assert.ok(names.includes(expected), `${expected} not found in ${CORE}`);
    }
  });

  for (const file of files) {
    test(path.relative(CORE, file), () => {
      const problems = specifiers(readFileSync(file, 'utf8'))
        .map((spec) => ({ spec, why: violation(file, spec) }))
        .filter((p) => p.why !== null)
        .map((p) => `'${p.spec}': ${p.why}`);
      assert.deepEqual(problems, [], `${path.relative(CORE, file)} imports outside src/core`);
    });
  }
});

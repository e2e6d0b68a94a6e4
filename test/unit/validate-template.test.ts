import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { fillTemplate, templateProblem } from '../../src/core/validate-template.js';
import { shellQuote } from '../../src/io/shell.js';
import type { Case } from '../helpers/table.js';

// CONTRACT.md: validate's `{}` is the staged temp file's path, quoted for the shell.
const Q = shellQuote('/etc/.a.conf.0123456789ab.entangled-tmp');

describe('fillTemplate: {} becomes the quoted path, once', () => {
  const cases: Case<string, string>[] = [
    { description: 'bare', given: 'nginx -t -c {}', expect: `nginx -t -c ${Q}` },
    { description: 'twice', given: 'cmp {} {}', expect: `cmp ${Q} ${Q}` },
    { description: 'in its own double quotes: those quotes dropped', given: 'test -f "{}"', expect: `test -f ${Q}` },
    { description: 'in its own single quotes: those quotes dropped', given: "test -f '{}'", expect: `test -f ${Q}` },
    { description: 'an escaped brace is no placeholder', given: 'echo \\{} {}', expect: `echo \\{} ${Q}` },
    { description: 'no placeholder', given: 'true', expect: 'true' },
    { description: 'after a closed quote', given: 'echo "a" {}', expect: `echo "a" ${Q}` },
  ];
  for (const c of cases) test(c.description, () => assert.equal(fillTemplate(c.given, Q), c.expect));
});

describe('templateProblem: {} inside a longer quoted word is refused', () => {
  const cases: Case<string, boolean>[] = [
    { description: 'bare', given: 'nginx -t -c {}', expect: false },
    { description: 'own double quotes', given: 'test -f "{}"', expect: false },
    { description: 'own single quotes', given: "test -f '{}'", expect: false },
    { description: 'inside a double-quoted word', given: 'app --config="{}"x', expect: false },
    { description: 'inside "--config={}"', given: 'app "--config={}"', expect: true },
    { description: "inside '{}.bak'", given: "cp {} '{}.bak'", expect: true },
    { description: 'a quote char inside the other quotes does not end them', given: `sh -c "echo '{}'"`, expect: true },
  ];
  for (const c of cases) test(c.description, () => assert.equal(templateProblem(c.given) !== null, c.expect));
  test('the line names the fix', () => assert.match(templateProblem('app "--config={}"')!, /^\{\} \(the staged file's path\) is quoted by entangled; .*write it unquoted/));
});

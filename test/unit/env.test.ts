import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath, pathToFileURL } from 'node:url';

// The built module (npm test builds first), as the CLI loads it: no loader allocating before it.
const ENV = pathToFileURL(path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../dist/cli/env.js')).href;

/**
 * The young generation's size (MiB, both semi-spaces) in a fresh Node process after a
 * workload whose objects survive a few scavenges, which is what makes V8 grow it (as the
 * start-up of a node with many files does), with or without the CLI's env module first.
 */
function youngGenerationMiB(withEnv: boolean): number {
  const code = `${withEnv ? `await import(${JSON.stringify(ENV)});` : ''}
    const { getHeapSpaceStatistics } = await import('node:v8');
    const keep = [];
    for (let i = 0; i < 300000; i++) { keep.push({ i, s: 'x' + i }); if (keep.length > 100000) keep.splice(0, 50000); }
    console.log(getHeapSpaceStatistics().find((s) => s.space_name === 'new_space').space_size / 1048576);`;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', code], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  return Number(r.stdout.trim());
}

// V8 flags set at run time are easy to get silently wrong (a --max-semi-space-size set there is
// ignored): check that the CLI's flags really keep the young generation small (idle RSS).
test('the CLI keeps V8 young generation at its initial size', () => {
  const plain = youngGenerationMiB(false);
  const cli = youngGenerationMiB(true);
  assert.ok(plain > 4, `without the CLI's flags the workload should grow the young generation (got ${plain} MiB)`);
  assert.ok(cli <= 2, `young generation ${cli} MiB with the CLI's flags (plain Node: ${plain} MiB)`);
});

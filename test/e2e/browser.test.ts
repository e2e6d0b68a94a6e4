import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { it } from 'node:test';
import type { Browser } from 'playwright-core';
import { launchChromium } from '../helpers/browser.js';
import { defineCluster, diverge, md5, patchConfig, ROOT, startCluster, stopAll, type RunningNode } from '../helpers/cluster.js';


it('the status page shows a split-brain live, and its Force button resolves it (real Chromium, no outside network)', async () => {
  const { root, nodes } = await defineCluster({ files: { 'app.conf': 'v0\n', 'site.conf': 's0\n' } });
  const [a, b] = (await startCluster(nodes)) as [RunningNode, RunningNode];
  // Launched inside the try: a Chromium that cannot start must not leave the nodes running (the
  // test file would never exit).
  let browser: Browser | undefined;
  try {
    browser = await launchChromium();
    const context = await browser.newContext({ viewport: { width: 1200, height: 640 } });
    const outside: string[] = [];
    // Everything must come from the node itself: any other request fails the test.
    await context.route('**/*', (route) => {
      const url = new URL(route.request().url());
      if (url.hostname === '127.0.0.1') return route.continue();
      outside.push(url.href);
      return route.abort();
    });
    const page = await context.newPage();
    await page.goto(`${a.api}/`);
    await page.locator('tr[data-name="app.conf"][data-status="aligned"]').waitFor();
    assert.match(await page.locator('#node').innerText(), /alpha/);

    // Make a split-brain while the page is open: the page follows /api/1/events.
    await diverge(a, b, 'app.conf', 'alpha wins? no\n', 'beta wins\n');
    const row = page.locator('tr[data-name="app.conf"]');
    await page.locator('tr[data-name="app.conf"][data-status="split-brain"]').waitFor({ timeout: 10000 });

    // The split-brain badge in beta's column opens the diff with beta; so does the Diff button.
    await row.locator('td[data-peer="beta"][data-status="split-brain"] button.badge').click();
    await page.locator('tr[data-name="app.conf"] pre.diffview').waitFor();
    assert.match(await row.locator('pre.diffview').innerText(), /^\+\+\+ beta:app\.conf$/m);
    await row.getByRole('button', { name: 'Diff' }).click();
    await page.locator('tr[data-name="app.conf"] pre.diffview').waitFor();
    assert.match(await row.locator('pre.diffview').innerText(), /\+beta wins/);
    const shot = process.env.UPDATE_SCREENSHOT ? path.join(ROOT, 'docs/status-page.png') : path.join(mkdtempSync(path.join(tmpdir(), 'shot-')), 'page.png');
    await page.screenshot({ path: shot, fullPage: true });

    page.once('dialog', (d) => void d.accept());
    await row.getByRole('button', { name: 'Force pull' }).click();
    await page.locator('tr[data-name="app.conf"][data-status="aligned"]').waitFor({ timeout: 10000 });
    assert.equal(readFileSync(a.file('app.conf'), 'utf8'), 'beta wins\n');
    assert.equal((await b.state()).files.find((f) => f.name === 'app.conf')!.status, 'aligned');
    assert.equal(md5(readFileSync(b.file('app.conf'))), md5('beta wins\n'));

    // Swagger UI renders from the node's own assets.
    await page.goto(`${a.api}/api/1/docs`);
    await page.locator('.swagger-ui .opblock').first().waitFor({ timeout: 10000 });
    assert.ok((await page.locator('.opblock-summary-path').allInnerTexts()).some((t) => t.includes('/api/1/force')));
    assert.deepEqual(outside, []);
  } finally {
    await browser?.close();
    await stopAll([a, b], root);
  }
});

it('the status page shows what a peer reported when it could not write this node\'s version, in that peer\'s cell, until it holds it', async () => {
  const { root, nodes } = await defineCluster({ files: { 'app.conf': 'ok 0\n' } });
  // Beta's validate refuses anything that does not start with "ok".
  patchConfig(nodes[1]!, (cfg) => {
    cfg.files = [{ path: 'app.conf', validate: 'grep -q "^ok" {}' }];
  });
  const [a, b] = (await startCluster(nodes)) as [RunningNode, RunningNode];
  const save = (content: string) => {
    writeFileSync(`${a.file('app.conf')}.save`, content);
    renameSync(`${a.file('app.conf')}.save`, a.file('app.conf'));
  };
  const browser = await launchChromium();
  try {
    const page = await (await browser.newContext({ viewport: { width: 1200, height: 640 } })).newPage();
    await page.goto(`${a.api}/`);
    await page.locator('tr[data-name="app.conf"][data-status="aligned"]').waitFor();
    save('broken\n');
    const cell = page.locator('tr[data-name="app.conf"] td[data-peer="beta"]');
    await cell.locator('.err').waitFor({ timeout: 5000 });
    assert.match(await cell.locator('.err').innerText(), new RegExp(`^validate refused version ${md5('broken\n')} from alpha: `));
    assert.equal(await cell.getAttribute('data-status'), 'pending');
    save('ok 1\n');
    await page.locator('tr[data-name="app.conf"][data-status="aligned"]').waitFor({ timeout: 10000 });
    assert.equal(await cell.locator('.err').count(), 0);
    assert.equal(readFileSync(b.file('app.conf'), 'utf8'), 'ok 1\n');
  } finally {
    await browser.close();
    await stopAll([a, b], root);
  }
});

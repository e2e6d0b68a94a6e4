import assert from 'node:assert/strict';
import { it } from 'node:test';
import type { Page } from 'playwright-core';
import type { Browser } from 'playwright-core';
import { launchChromium } from '../helpers/browser.js';
import { defineCluster, startCluster, stopAll, type RunningNode } from '../helpers/cluster.js';
import { saveLargeFile } from '../helpers/large-file.js';


/** The progress bar in `peer`'s cell of big.bin's row. */
const barOf = (page: Page, peer: string) => page.locator(`tr[data-name="big.bin"] td[data-peer="${peer}"] [role="progressbar"]`);

/** Waits until the bar shows more than `than` percent: the page follows the transfer live. */
async function waitGrowth(page: Page, peer: string, than: number): Promise<void> {
  await page.waitForFunction(
    ([p, v]) => Number(document.querySelector(`tr[data-name="big.bin"] td[data-peer="${p}"] [role="progressbar"]`)?.getAttribute('aria-valuenow') ?? -1) > Number(v),
    [peer, than] as const,
    { timeout: 15_000, polling: 'raf' },
  );
}

it('the status page shows a progress bar in the peer\'s cell during a large transfer, on both nodes, and drops it after (real Chromium)', async () => {
  const { root, nodes } = await defineCluster({ files: { 'big.bin': 'small at first\n' } });
  const [a, b] = (await startCluster(nodes)) as [RunningNode, RunningNode];
  // Launched inside the try: a Chromium that cannot start must not leave the nodes running (the
  // test file would never exit).
  let browser: Browser | undefined;
  try {
    browser = await launchChromium();
    const context = await browser.newContext({ viewport: { width: 1200, height: 640 } });
    const [sender, receiver] = [await context.newPage(), await context.newPage()];
    await sender.goto(`${a.api}/`);
    await receiver.goto(`${b.api}/`);
    for (const page of [sender, receiver]) {
      await page.locator('#live.on').waitFor();
      await page.locator('tr[data-name="big.bin"][data-status="aligned"]').waitFor();
      assert.equal(await page.locator('[role="progressbar"]').count(), 0);
    }

    saveLargeFile(a.file('big.bin'), 300);
    const inBar = barOf(receiver, 'alpha');
    const outBar = barOf(sender, 'beta');
    await Promise.all([inBar.waitFor({ timeout: 15_000 }), outBar.waitFor({ timeout: 15_000 })]);
    assert.equal(await receiver.locator('tr[data-name="big.bin"] td[data-peer="alpha"] .xfer').getAttribute('data-direction'), 'in');
    assert.equal(await sender.locator('tr[data-name="big.bin"] td[data-peer="beta"] .xfer').getAttribute('data-direction'), 'out');
    const first = Number(await inBar.getAttribute('aria-valuenow'));
    assert.ok(first >= 0 && first < 100, `the receiver's bar starts at ${first}%`);
    assert.match(await receiver.locator('tr[data-name="big.bin"] td[data-peer="alpha"] .xfer').innerText(), /\d+%/);
    await waitGrowth(receiver, 'alpha', first);

    // Done: both rows aligned, and no bar left on either page.
    for (const page of [sender, receiver]) {
      await page.locator('tr[data-name="big.bin"][data-status="aligned"]').waitFor({ timeout: 20_000 });
      await page.locator('[role="progressbar"]').waitFor({ state: 'detached', timeout: 5000 });
    }
  } finally {
    await browser?.close();
    await stopAll([a, b], root);
  }
});

// Monitoring in Chromium: create an HTTP monitor from the admin form against a server the test
// runs on 127.0.0.1, watch it come up, see its response-time chart on the public component
// page, then break the target and see the public page report the outage by itself.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { startHerald, launchBrowser, openPage, screenshotPath } from './support.mjs';

const EMAIL = 'owner@example.test';
const PASSWORD = 'correct horse battery';

/** A target that answers 200 until `healthy` is set to false, then 503. */
async function startTarget() {
  const state = { healthy: true };
  const server = http.createServer((req, res) => {
    res.writeHead(state.healthy ? 200 : 503, { 'content-type': 'text/plain' });
    res.end(state.healthy ? 'ok' : 'broken');
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { state, url: `http://127.0.0.1:${server.address().port}/health`, close: () => server.close() };
}

async function until(what, check, seconds = 30) {
  const deadline = Date.now() + seconds * 1000;
  for (;;) {
    if (await check()) return;
    if (Date.now() > deadline) throw new Error(`gave up waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

test('a monitor made in the admin UI drives the public page', async () => {
  const target = await startTarget();
  const herald = await startHerald({
    env: { HERALD_ADMIN_EMAIL: EMAIL, HERALD_ADMIN_PASSWORD: PASSWORD },
  });
  const browser = await launchBrowser();
  const { page, problems, close } = await openPage(browser);
  try {
    await page.goto(`${herald.url}/admin/login`);
    await page.getByLabel('Email').fill(EMAIL);
    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'Open incidents' }).waitFor();

    await page.getByRole('link', { name: 'Monitors' }).first().click();
    await page.getByRole('heading', { name: 'New monitor' }).waitFor();
    await page.locator('#name').fill('Website health');
    await page.locator('#component_id').selectOption({ label: 'drchrono.com' });
    await page.locator('#kind').selectOption('http');
    await page.locator('#interval_seconds').fill('10');
    await page.locator('#timeout_ms').fill('2000');
    await page.locator('#failures_to_down').fill('2');
    await page.locator('#successes_to_up').fill('1');
    await page.locator('#retry_interval_seconds').fill('1');
    await page.locator('#flap_window_seconds').fill('0');
    await page.locator('#url').fill(target.url);
    await page.screenshot({ path: screenshotPath('admin-new-monitor'), fullPage: true });
    await page.getByRole('button', { name: 'Create monitor' }).click();
    await page.getByRole('heading', { name: 'Website health' }).waitFor();

    await until('the monitor to come up', async () => {
      await page.reload();
      return (await page.locator('.monitor-status').first().innerText()) === 'up';
    });
    await page.screenshot({ path: screenshotPath('admin-monitor-up'), fullPage: true });

    // The public component page shows the chart, drawn by the server.
    const publicPage = await page.context().newPage();
    publicPage.on('console', (m) => { if (m.type() === 'error') problems.push(`public console: ${m.text()}`); });
    await until('the chart on the component page', async () => {
      await publicPage.goto(`${herald.url}/components/drchronocom1`);
      return (await publicPage.locator('.component-response img').count()) === 1;
    });
    const width = await publicPage.locator('.component-response img').evaluate(
      (img) => new Promise((resolve) => (img.complete ? resolve(img.naturalWidth) : img.addEventListener('load', () => resolve(img.naturalWidth)))),
    );
    assert.ok(width > 0, 'the chart image loads');
    await publicPage.screenshot({ path: screenshotPath('public-response-chart'), fullPage: true });

    // Break the target: the public page reports the outage without anyone touching it.
    target.state.healthy = false;
    await until('the public page to show the outage', async () => {
      await publicPage.goto(`${herald.url}/`);
      await publicPage.reload();
      return (await publicPage.locator('#component-drchronocom1').innerText()).includes('Major Outage');
    });
    await publicPage.screenshot({ path: screenshotPath('public-monitor-outage'), fullPage: true });
    assert.deepEqual(problems, []);
  } finally {
    await close();
    await browser.close();
    await herald.stop();
    target.close();
  }
});

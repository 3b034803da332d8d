// The public status page as a person sees it, in Debian's headless Chromium: the demo page and
// the DrChrono incident report, at desktop and phone widths, light and dark, with no console
// errors. Screenshots land in e2e/artifacts/.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startHerald, launchBrowser, openPage, screenshotPath } from './support.mjs';

let herald;
let browser;

before(async () => {
  herald = await startHerald();
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await herald?.stop();
});

const viewports = [
  { name: 'desktop', width: 1280, height: 900 },
  { name: 'phone', width: 390, height: 844 },
];

test('the demo status page shows status, components, uptime bars and past days', async () => {
  for (const vp of viewports) {
    const { page, problems, close } = await openPage(browser, vp);
    const res = await page.goto(`${herald.url}/`);
    assert.equal(res.status(), 200);
    assert.equal((await page.locator('#banner-text').innerText()).trim(), 'All Systems Operational');
    const names = await page.locator('li.component a.component__name').allInnerTexts();
    assert.deepEqual(names.map((n) => n.trim()), ['drchrono.com', 'drchrono iPad EHR']);
    const statuses = await page.locator('li.component .component__head .status').allInnerTexts();
    assert.ok(statuses.every((s) => s.includes('Operational')), statuses.join(' | '));
    for (const row of await page.locator('li.component').all()) {
      assert.equal(await row.locator('.uptime__day').count(), 90);
      assert.match(await row.locator('.uptime__bar').getAttribute('aria-label'), /past 90 days/);
    }
    assert.equal(await page.locator('section.past section.day').count(), 15);
    assert.ok((await page.locator('p.day__empty').count()) > 0, 'quiet days say so');
    assert.equal(await page.locator('h1').count(), 1);
    // The page fits the viewport: nothing forces a horizontal scroll.
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    assert.ok(overflow <= 1, `horizontal overflow of ${overflow}px at ${vp.name}`);
    await page.screenshot({ path: screenshotPath(`home-${vp.name}`), fullPage: true });
    assert.deepEqual(problems, []);
    await close();
  }
});

test('the incident report reads like the original, with PDT and PST where each belongs', async () => {
  for (const vp of viewports) {
    const { page, problems, close } = await openPage(browser, vp);
    const res = await page.goto(`${herald.url}/incidents/slowness2211`);
    assert.equal(res.status(), 200);
    assert.equal((await page.locator('h1').innerText()).trim(), 'General system slowness on the DrChrono platform');
    assert.equal((await page.locator('.report__subtitle').innerText()).trim(), 'Incident Report for DrChrono');
    assert.equal(await page.locator('table.timeline tbody tr').count(), 28);
    assert.equal((await page.locator('.timeline-note').innerText()).trim(), 'All times are PST Timezone.');
    const firstRow = page.locator('table.timeline tbody tr').first();
    assert.equal((await firstRow.locator('time').innerText()).trim(), '2022-11-02 22:00:00');
    assert.match(await firstRow.locator('time').getAttribute('title'), /^2022-11-02 22:00:00 PDT/);
    const sections = await page.locator('section.postmortem__section h3').allInnerTexts();
    assert.deepEqual(sections.map((s) => s.trim()), ['Contributing Factor(s)', 'Stabilization Steps', 'Impact', 'Corrective Actions']);
    assert.match(await page.locator('.postmortem__posted').innerText(), /Posted Nov 14, 2022 - 11:37 PST/);
    const labels = await page.locator('ol.update-list li.update .update__label').allInnerTexts();
    assert.deepEqual(labels.map((l) => l.trim()), ['Resolved', 'Monitoring', 'Update', 'Update', 'Identified']);
    const posted = await page.locator('ol.update-list li.update .update__posted').allInnerTexts();
    const times = posted.map((p) => (p.match(/[A-Z][a-z]{2} \d{2}, \d{4} - \d{2}:\d{2} P[DS]T/) || [''])[0]);
    assert.deepEqual(times, [
      'Nov 04, 2022 - 07:01 PDT',
      'Nov 03, 2022 - 14:00 PDT',
      'Nov 03, 2022 - 12:40 PDT',
      'Nov 03, 2022 - 09:12 PDT',
      'Nov 03, 2022 - 05:44 PDT',
    ]);
    assert.equal((await page.locator('p.affected').innerText()).trim(), 'This incident affected: drchrono.com and drchrono iPad EHR.');
    await page.screenshot({ path: screenshotPath(`incident-${vp.name}`), fullPage: true });
    assert.deepEqual(problems, []);
    await close();
  }
});

test('dark mode and viewer-local times are progressive additions', async () => {
  const context = await browser.newContext({ colorScheme: 'dark', timezoneId: 'Europe/Berlin', viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  const problems = [];
  page.on('console', (m) => { if (m.type() === 'error') problems.push(m.text()); });
  page.on('pageerror', (e) => problems.push(e.message));
  await page.goto(`${herald.url}/incidents/slowness2211`);
  // The page-zone time is in the HTML; the script adds the reader's own (Berlin: CET/CEST).
  const first = page.locator('ol.update-list li.update').first();
  await page.waitForFunction(() => document.body.innerText.includes('Your time'));
  assert.match(await first.innerText(), /Nov 04, 2022 - 07:01 PDT/);
  assert.match(await first.innerText(), /Your time/);
  const background = await page.evaluate(() => getComputedStyle(document.body).backgroundColor);
  const [r, g, b] = background.match(/\d+/g).map(Number);
  assert.ok(r + g + b < 200, `dark mode background is ${background}`);
  await page.screenshot({ path: screenshotPath('incident-dark'), fullPage: true });
  assert.deepEqual(problems, []);
  await context.close();
});

test('the page works with JavaScript off', async () => {
  const context = await browser.newContext({ javaScriptEnabled: false });
  const page = await context.newPage();
  await page.goto(`${herald.url}/`);
  assert.equal((await page.locator('#banner-text').innerText()).trim(), 'All Systems Operational');
  // History is paginated by months; follow "Older incidents" links back to November 2022.
  await page.goto(`${herald.url}/history`);
  for (let i = 0; i < 40 && !(await page.locator('main').innerText()).includes('November 2022'); i++) {
    await page.locator('a.pagination__older').click();
  }
  const main = await page.locator('main').innerText();
  assert.match(main, /General system slowness on the DrChrono platform/);
  assert.match(main, /Task and message counts are temporarily unavailable/);
  await context.close();
});

test('a visitor subscribes by email from the page footer and is asked to confirm', async () => {
  const { page, problems, close } = await openPage(browser, viewports[1]);
  await page.goto(`${herald.url}/`);
  await page.getByRole('link', { name: 'Subscribe to updates' }).click();
  await page.waitForURL(`${herald.url}/subscribe`);
  assert.equal(await page.locator('input[name="component_ids[]"]').count(), 2);
  await page.getByLabel('Email address').fill('visitor@example.test');
  await page.getByLabel('drchrono iPad EHR').check();
  await Promise.all([page.waitForNavigation(), page.getByRole('button', { name: 'Subscribe by email' }).click()]);
  assert.equal((await page.locator('h1').innerText()).trim(), 'Check your inbox');
  const first = await page.locator('main').innerText();
  // The same address again gets the very same answer: the page does not tell whether an
  // address is subscribed.
  await page.goto(`${herald.url}/subscribe`);
  await page.getByLabel('Email address').fill('visitor@example.test');
  await Promise.all([page.waitForNavigation(), page.getByRole('button', { name: 'Subscribe by email' }).click()]);
  assert.equal((await page.locator('h1').innerText()).trim(), 'Check your inbox');
  assert.equal(await page.locator('main').innerText(), first);
  await page.screenshot({ path: screenshotPath('subscribe-phone'), fullPage: true });
  assert.deepEqual(problems.filter((p) => !/status of 422/.test(p)), []);
  await close();
});

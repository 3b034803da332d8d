// The admin UI in Chromium: sign in as the owner created from configuration, open an incident
// on drchrono.com, follow it through an update and resolution on the public page, then write
// and publish a postmortem with a timeline row.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startHerald, launchBrowser, openPage, screenshotPath } from './support.mjs';

const EMAIL = 'owner@example.test';
const PASSWORD = 'correct horse battery';
const NAME = 'Website unreachable (e2e)';

test('an incident from the admin UI to the public page and its postmortem', async () => {
  const herald = await startHerald({
    env: { HERALD_ADMIN_EMAIL: EMAIL, HERALD_ADMIN_PASSWORD: PASSWORD },
  });
  const browser = await launchBrowser();
  const { page, problems, close } = await openPage(browser);
  try {
    // Signing in: the admin sends strangers to the form first.
    await page.goto(`${herald.url}/admin`);
    assert.match(page.url(), /\/admin\/login$/);
    await page.getByLabel('Email').fill(EMAIL);
    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'Open incidents' }).waitFor();
    await page.screenshot({ path: screenshotPath('admin-dashboard'), fullPage: true });

    // Opening the incident: one form with the component's new status.
    await page.getByRole('link', { name: 'Open incident' }).first().click();
    await page.getByLabel('Name').fill(NAME);
    await page.locator('#status').selectOption('investigating');
    await page.locator('#body').fill('We are investigating reports that the website is down.');
    await page.getByLabel('drchrono.com').selectOption('major_outage');
    await page.screenshot({ path: screenshotPath('admin-open-incident'), fullPage: true });
    await page.getByRole('button', { name: 'Open incident' }).click();
    await page.getByRole('heading', { name: NAME }).waitFor();
    const incidentUrl = page.url();
    const id = incidentUrl.split('/').pop();

    const publicPage = await page.context().newPage();
    publicPage.on('console', (m) => { if (m.type() === 'error') problems.push(`public console: ${m.text()}`); });
    // Public pages may be cached for five seconds; a reload revalidates them.
    const showPublic = async (path) => {
      await publicPage.goto(`${herald.url}${path}`);
      await publicPage.reload();
      return publicPage.locator('main').innerText();
    };
    publicPage.on('pageerror', (e) => problems.push(`public page error: ${e.message}`));
    const home = await showPublic('/');
    assert.ok(home.includes(NAME), 'the public page names the incident');
    assert.ok(home.includes('Major System Outage'), home);
    await publicPage.screenshot({ path: screenshotPath('admin-public-outage'), fullPage: true });

    // An Identified update.
    await page.locator('#status').selectOption('identified');
    await page.locator('#body').fill('The cause has been identified: a failed load balancer.');
    await page.getByRole('button', { name: 'Post update' }).click();
    await page.locator('.incident-status', { hasText: 'Identified' }).waitFor();
    assert.ok((await page.locator('.admin-updates').innerText()).includes('failed load balancer'));

    // Resolving puts the component back to operational.
    await page.getByRole('button', { name: 'Resolve' }).click();
    await page.locator('.incident-status', { hasText: 'Resolved' }).waitFor();
    await page.screenshot({ path: screenshotPath('admin-incident-resolved'), fullPage: true });
    const cleared = await showPublic('/');
    assert.ok(cleared.includes('All Systems Operational'), cleared);

    // The postmortem: body, one timeline row, a section; preview, then publish.
    await page.getByRole('link', { name: 'Write postmortem' }).click();
    await page.locator('#body').fill('A **load balancer** failed and traffic could not reach the website.');
    await page.getByRole('button', { name: 'Add row' }).click();
    await page.locator('#row-activity-0').fill('Monitoring alerted the on-call engineer.');
    await page.locator('#timeline_zone_label').fill('PST');
    await page.locator('#corrective_actions').fill('Add a second load balancer.');
    await page.getByRole('button', { name: 'Preview' }).click();
    await page.locator('.preview strong', { hasText: 'load balancer' }).waitFor();
    await page.screenshot({ path: screenshotPath('admin-postmortem-preview'), fullPage: true });
    await page.getByRole('button', { name: 'Save and publish' }).click();
    await page.getByText('Published', { exact: true }).waitFor();

    const report = await showPublic(`/incidents/${id}`);
    assert.ok(report.includes('Postmortem'), report);
    assert.ok(report.includes('Monitoring alerted the on-call engineer.'), report);
    assert.ok(report.includes('Add a second load balancer.'), report);
    await publicPage.screenshot({ path: screenshotPath('admin-public-postmortem'), fullPage: true });

    assert.deepEqual(problems, []);
  } finally {
    await close();
    await browser.close();
    await herald.stop();
  }
});

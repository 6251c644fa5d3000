// Opens the server's GraphiQL page in headless Chromium (Debian's, driven by playwright-core),
// as a frontend developer would: the page loads with no network but the server, the docs
// explorer lists the schema's types, and a query runs with the token in the headers editor.
// Usage: node graphiql.mjs <base url> <bearer token> <screenshot.png>
// Prints one JSON line with what it saw; exits non-zero when a step fails.
import { chromium } from 'playwright-core';

const [base, token, screenshot] = process.argv.slice(2);
const executablePath = process.env.CHROMIUM ?? '/usr/bin/chromium';
const browser = await chromium.launch({
  executablePath,
  args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});
const seen = { foreign: [], console: [], failed: [] };
try {
  const page = await browser.newPage();
  const origin = new URL(base).origin;
  page.on('request', (r) => { if (!r.url().startsWith(origin) && !r.url().startsWith('data:')) seen.foreign.push(r.url()); });
  page.on('requestfailed', (r) => seen.failed.push(r.url()));
  page.on('console', (m) => { if (m.type() === 'error') seen.console.push(m.text()); });
  // The token the user pastes once: GraphiQL keeps headers in localStorage.
  await page.addInitScript((t) => {
    window.localStorage.setItem('graphiql:headers', JSON.stringify({ Authorization: `Bearer ${t}` }));
  }, token);
  await page.goto(`${base}/graphql`, { waitUntil: 'load' });
  await page.waitForSelector('.graphiql-container', { timeout: 20000 });

  // The docs explorer: the schema loaded (introspection) and a type can be found.
  await page.click('button[aria-label="Show Documentation Explorer"]');
  await page.waitForSelector('.graphiql-doc-explorer', { timeout: 20000 });
  await page.fill('.graphiql-doc-explorer-search-input input', 'RiskMatrix');
  const wanted = page.locator('.graphiql-doc-explorer-search [role="option"]', { hasText: /^RiskMatrix$/ });
  await wanted.waitFor({ timeout: 20000 });
  const options = await page.$$eval('.graphiql-doc-explorer-search [role="option"]', (els) => els.map((e) => e.textContent));
  seen.docsSearch = options.slice(0, 5);
  await wanted.click();
  await page.waitForFunction(() => {
    const t = document.querySelector('.graphiql-doc-explorer-title');
    return t && t.textContent.trim() === 'RiskMatrix';
  }, null, { timeout: 20000 });
  seen.docsType = (await page.textContent('.graphiql-doc-explorer-content')).replace(/\s+/g, ' ').slice(0, 200);

  // Run the opening query (viewer and accounts) with the header from localStorage.
  await page.click('.graphiql-execute-button');
  await page.waitForFunction(() => {
    const r = document.querySelector('.result-window');
    return r && r.textContent.includes('"viewer"');
  }, null, { timeout: 20000 });
  seen.result = (await page.textContent('.result-window')).replace(/\s+/g, ' ').slice(0, 300);
  await page.screenshot({ path: screenshot, fullPage: true });
  console.log(JSON.stringify(seen));
} catch (e) {
  seen.error = String(e);
  console.log(JSON.stringify(seen));
  process.exitCode = 1;
} finally {
  await browser.close();
}

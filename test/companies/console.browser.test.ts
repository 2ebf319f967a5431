import { SANDBOX_COMPANIES } from '../../dev/settings';
import { useE2E, waitFor } from '../e2e/support';
import { describeInBrowser, startDemo } from '../support/browser';

/**
 * The operator console with two companies (the sandbox of `npm start`), in Chromium: the company selector scopes
 * every panel, the subscription and watermark cards list each company, a customer number is looked up in the
 * chosen company, and a company whose poll fails says so.
 */
const e2e = useE2E();
jest.setTimeout(120_000);

const { usa: USA, canada: CANADA } = SANDBOX_COMPANIES;

describeInBrowser('console with several companies', (browser) => {

  test('a company selector on every panel; cards per company; customers by number in the chosen company', async () => {
    const system = await startDemo(e2e, { companies: 2, transfers: 11, description: 'the nine demo transfers of CRONUS USA and the two of CRONUS Canada' });

    const context = await browser().newContext({ viewport: { width: 1280, height: 900 } });
    const page = await context.newPage();
    const errors: string[] = [];
    page.on('pageerror', (error) => errors.push(error.message));
    await page.goto(`${system.url}/api/console`);
    await page.waitForSelector('html[data-ready="true"]', { timeout: 30_000 });

    // The selector: all companies, then each by name.
    await expect(page.locator('#company-choice').isVisible()).resolves.toBe(true);
    await expect(page.locator('#company option').allTextContents()).resolves.toEqual(['All companies', USA.name, CANADA.name]);
    // One subscription and one watermark per company.
    await expect(page.locator('#card-subscription li[data-company]').count()).resolves.toBe(2);
    await expect(page.locator(`#card-poll li[data-company="${CANADA.id}"] [data-field="watermark"] time`).count()).resolves.toBe(1);
    const legend = (status: string) => page.locator(`.legend li[data-status="${status}"] strong`).textContent();
    await expect(legend('Succeeded')).resolves.toBe('6');

    // CRONUS Canada only: its two customers, its cards.
    await page.selectOption('#company', CANADA.id);
    await waitFor(async () => (await legend('Succeeded')) === '2', { timeoutMs: 15_000, description: "CRONUS Canada's two transfers in the chart" });
    await expect(page.locator('#card-subscription li[data-company]').count()).resolves.toBe(1);
    await expect(legend('Failed')).resolves.toBe('0');

    // A number in the chosen company: CRONUS Canada's 10000 (CA-10000 in iPaaS.com), not CRONUS USA's.
    await page.fill('#search-input', '10000');
    await page.press('#search-input', 'Enter');
    await page.waitForSelector('#history tbody tr');
    await expect(page.locator('#customer-body [data-field="company"]').textContent()).resolves.toBe(CANADA.name);
    await page.click('#dry-run');
    await page.waitForSelector('#plan .plan');
    await expect(page.locator('#plan .plan').getAttribute('data-outcome')).resolves.toBe('Unchanged');

    // All companies: a number needs a company.
    await page.selectOption('#company', '');
    await page.fill('#search-input', '10000');
    await page.press('#search-input', 'Enter');
    await page.waitForSelector('#customer-body .error');
    await expect(page.locator('#customer-body .error').textContent()).resolves.toContain('Choose the company above');

    // Canada's permission taken away: its poll fails and the polling card says so; CRONUS USA's does not.
    system.world.businessCentral.denyCompany(CANADA.id);
    await system.system.host.runTimer('pollCustomers').catch(() => undefined);
    await page.click('#refresh-now');
    await page.waitForSelector(`#card-poll li[data-company="${CANADA.id}"] [data-poll-failed="403"]`, { timeout: 15_000 });
    await expect(page.locator(`#card-poll li[data-company="${USA.id}"] [data-poll-failed]`).count()).resolves.toBe(0);
    expect(errors).toEqual([]);
    await context.close();
  });
});

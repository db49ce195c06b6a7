// Drives headless Chromium through a plan of steps (JSON on stdin) and prints what it saw (JSON on stdout):
// each step's result, every navigation's status and headers, console messages and dialogs. Started by
// localdev/browser.py; the assertions live in the Python tests.
import { chromium } from "playwright-core";

const plan = JSON.parse(await new Promise((resolve) => {
  let text = "";
  process.stdin.on("data", (chunk) => { text += chunk; });
  process.stdin.on("end", () => resolve(text));
}));
const browser = await chromium.launch({ executablePath: plan.chromium, headless: true,
  args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"] });
const seen = { results: [], navigations: [], console: [], dialogs: [], errors: [] };
try {
  const page = await browser.newPage({ viewport: { width: plan.width || 1200, height: 800 },
                                       javaScriptEnabled: plan.javascript !== false });
  page.on("console", (message) => seen.console.push({ type: message.type(), text: message.text() }));
  page.on("pageerror", (error) => seen.errors.push(String(error)));
  page.on("dialog", async (dialog) => { seen.dialogs.push(dialog.message()); await dialog.dismiss(); });
  page.on("response", async (response) => {
    if (response.request().isNavigationRequest()) {
      seen.navigations.push({ url: response.url(), status: response.status(), headers: await response.allHeaders() });
    }
  });
  for (const step of plan.steps) {
    if (step.goto) {
      await page.goto(step.goto);
      seen.results.push(null);
    } else if (step.select) {
      seen.results.push(await page.selectOption(step.select, step.value));
    } else if (step.fill) {
      seen.results.push(await page.fill(step.fill, step.value));
    } else if (step.click) {
      await Promise.all([page.waitForNavigation(), page.click(step.click)]);
      seen.results.push(null);
    } else if (step.text) {
      seen.results.push(await page.locator(step.text).allInnerTexts());
    } else if (step.count) {
      seen.results.push(await page.locator(step.count).count());
    } else if (step.widths) {
      // The document's scroll width and the viewport's: a page wider than its window scrolls sideways.
      seen.results.push(await page.evaluate(() => [document.documentElement.scrollWidth,
                                                   document.documentElement.clientWidth]));
    } else if (step.screenshot) {
      await page.screenshot({ path: step.screenshot, fullPage: true });
      seen.results.push(step.screenshot);
    }
  }
} finally {
  await browser.close();
}
process.stdout.write(JSON.stringify(seen));

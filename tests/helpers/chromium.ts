/**
 * Headless Chromium for tests, driven by playwright-core (npm), with the
 * network blocked: only the page's own file:// URL may load.
 *
 * Uses Debian's /usr/bin/chromium (or $CHROMIUM). `findChromium()` waits up
 * to `waitS` seconds for it to appear (it may still be being installed).
 */
import { type Browser, chromium, type Page } from "playwright-core";

export const CHROMIUM_CANDIDATES = [
  "/usr/bin/chromium",
  "/usr/bin/chromium-browser",
  "/usr/bin/google-chrome",
];

function exists(p: string): boolean {
  try {
    return Deno.statSync(p).isFile;
  } catch {
    return false;
  }
}

/** The Chromium binary, waiting up to `waitS` seconds for an install in progress; undefined if none. */
export async function findChromium(waitS = 0): Promise<string | undefined> {
  const env = Deno.env.get("CHROMIUM");
  const cands = env ? [env] : CHROMIUM_CANDIDATES;
  const deadline = Date.now() + waitS * 1000;
  while (true) {
    const found = cands.find(exists);
    if (found) return found;
    if (Date.now() >= deadline) return undefined;
    await new Promise((r) => setTimeout(r, 2000));
  }
}

export interface OpenedPage {
  browser: Browser;
  page: Page;
  /** Console messages of type error, and page errors. */
  errors: string[];
  /** URLs the page tried to fetch other than itself (all blocked). */
  blocked: string[];
  close(): Promise<void>;
}

/** Launch Chromium headless (sandbox off for root, fresh profile) and open a local file. */
export async function openFile(
  executablePath: string,
  file: string,
  viewport = { width: 1200, height: 900 },
): Promise<OpenedPage> {
  // playwright gives every launch a fresh temporary profile (its own --user-data-dir)
  const browser = await chromium.launch({
    executablePath,
    headless: true,
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-dev-shm-usage",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      "--no-first-run",
    ],
  });
  const context = await browser.newContext({ viewport, deviceScaleFactor: 1 });
  const page = await context.newPage();
  const url = new URL(`file://${await Deno.realPath(file)}`).href;
  const errors: string[] = [];
  const blocked: string[] = [];
  page.on("console", (m) => {
    if (m.type() === "error") errors.push(m.text());
  });
  page.on("pageerror", (e) => errors.push(String(e)));
  await page.route("**/*", (route) => {
    const u = route.request().url();
    if (u === url) return route.continue();
    blocked.push(u);
    return route.abort();
  });
  await page.goto(url, { waitUntil: "load" });
  return {
    browser,
    page,
    errors,
    blocked,
    async close() {
      await browser.close();
    },
  };
}

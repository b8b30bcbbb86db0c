/**
 * The built documentation site (`npm run docs`), checked in a real headless
 * Chromium: the index page, the MMap class page and every guide page (found
 * from typedoc.json's projectDocuments and the @document tags of its entry
 * points, see pages.ts) render with headings,
 * without console errors or failed requests, and with every internal link
 * answering 200; typedoc's search finds mapRegion. Screenshots of each page go
 * to docs/site-screenshots/.
 *
 * - No Chromium (no /usr/bin/chromium and no PORTABLE_MMAP_CHROMIUM): the
 *   browser checks are skipped, with the reason printed (they fail instead
 *   with PORTABLE_MMAP_REQUIRE_CHROMIUM=1, as in .ci/run).
 * - The site not built: fails, saying to run `npm run docs`.
 * - PORTABLE_MMAP_SITE=<folder> checks another build of the site.
 */
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import type { Page } from "playwright-core";
import { describe, test } from "vitest";
import { run } from "../harness.js";
import { testUnless } from "../unless.js";
import { findChromium, SiteBrowser, screenshotDir, withProblems } from "./browser.js";
import { planSite, repoRoot } from "./pages.js";

const started = Date.now();
// A hung browser must not hang `npm test`: the runner counts a child without a closing line as failed.
const limitSeconds = 300;
setTimeout(() => {
  console.log(`not ok - the site check did not finish within ${limitSeconds} s`);
  process.exit(1);
}, limitSeconds * 1000).unref();

const plan = planSite();
const relative = (p: string) => path.relative(repoRoot, p) || ".";
const found = findChromium();
const skip = "skip" in found ? found.skip : undefined;
console.log(
  `# site: ${relative(plan.siteDir)} (${process.env.PORTABLE_MMAP_SITE ? "PORTABLE_MMAP_SITE" : `typedoc.json's "out"`}), ` +
    "guides from typedoc.json (projectDocuments, and @document tags in its entryPoints)",
);
if (skip) console.log(`# site: the checks in Chromium are skipped: ${skip}`);

let opened: Promise<SiteBrowser> | undefined;
/** The browser and server, started by the first check that needs them. */
function browser(): Promise<SiteBrowser> {
  if ("error" in found) return Promise.reject(new Error(found.error));
  if (!opened) {
    fs.rmSync(screenshotDir, { recursive: true, force: true });
    opened = SiteBrowser.open((found as { executablePath: string }).executablePath, plan.siteDir);
  }
  return opened;
}

function fail(what: string, problems: string[]): void {
  if (problems.length > 0) assert.fail(`${what}:\n${problems.map((p) => `- ${p}`).join("\n")}`);
}

/** Opens a page, checks it and every internal link on it; `heading` must then be one of its h1/h2. */
async function checkPage(sitePath: string, label: string, heading?: string): Promise<void> {
  const site = await browser();
  const start = Date.now();
  const visit = await site.visit(sitePath, label);
  try {
    await withProblems(visit.problems, async () => {
      if (heading !== undefined && !visit.headings.some((h) => h.text === heading && h.visible)) {
        visit.problems.push(
          `no visible h1/h2 "${heading}" (its headings: ${visit.headings.map((h) => `${h.tag} "${h.text}"`).join(", ")})`,
        );
      }
      await site.checkLinks(visit.links, visit.problems);
    });
  } finally {
    await visit.page.close();
  }
  const links = new Set(visit.links.filter((l) => l.startsWith(`${site.origin}/`))).size;
  console.log(`# site: ${sitePath}: ${links} internal links, ${((Date.now() - start) / 1000).toFixed(1)} s`);
  fail(`${label} (${sitePath})`, visit.problems);
}

describe("documentation site", () => {
  test("is built, and every guide that typedoc.json brings in has a page in it", () => {
    if (plan.notBuilt) assert.fail(plan.notBuilt);
    assert.ok(
      plan.guides.length > 0,
      `no guides: typedoc.json lists no projectDocuments, and its entryPoints have no @document tags`,
    );
    const problems: string[] = [];
    for (const guide of plan.guides) {
      console.log(`# site: guide ${guide.file} (${guide.from}): ${guide.pages.join(", ") || "no page"}`);
      const wanted = guide.heading !== undefined ? `an h1 "${guide.heading}"` : `the title "${guide.name}"`;
      if (!guide.exists) problems.push(`${guide.file} (${guide.from}) does not exist`);
      else if (guide.pages.length === 0)
        problems.push(`${guide.file} (${guide.from}): no page of the site has ${wanted}`);
      if (guide.pages.length > 1) {
        console.log(`# site: ${guide.file} is rendered on ${guide.pages.length} pages: ${guide.pages.join(", ")}`);
      }
    }
    for (const page of plan.otherDocuments) console.log(`# site: ${page} is a document page of none of these guides`);
    fail("guides without a page", problems);
  });

  if (plan.notBuilt) return;

  testUnless(skip, "index page", () => checkPage("index.html", "index page"));

  if (plan.mmapPage) {
    const mmap = plan.mmapPage;
    testUnless(skip, `MMap class page (${mmap})`, () => checkPage(mmap, "MMap class page", "Class MMap"));
  } else {
    test("MMap class page", () => assert.fail('no page of the site has the h1 "Class MMap"'));
  }

  for (const guide of plan.guides) {
    for (const page of guide.pages) {
      testUnless(skip, `guide ${guide.file} (${page})`, () => checkPage(page, `guide ${guide.file}`, guide.heading));
    }
  }
  for (const page of plan.otherDocuments) {
    testUnless(skip, `document page ${page}`, () => checkPage(page, `document page ${page}`));
  }

  testUnless(skip, 'search: "mapRegion" finds the mapRegion page, and its link opens it', async () => {
    const site = await browser();
    const visit = await site.visit("index.html", "search", false);
    const { page, problems } = visit;
    try {
      await withProblems(problems, () => search(site, page));
    } finally {
      await page.close();
    }
    fail("search", problems);
  });
});

/** Types "mapRegion" into typedoc's search on an open page, and follows the result to the mapRegion page. */
async function search(site: SiteBrowser, page: Page): Promise<void> {
  await page.locator("#tsd-search-trigger").click();
  await page.locator("#tsd-search-input").fill("mapRegion");
  const results = page.locator("#tsd-search-results a[href]");
  const isMapRegion = (href: string) => /(^|[/.])mapRegion\.html$/.test(new URL(href).pathname);
  try {
    await page.locator('#tsd-search-results a[href$="mapRegion.html"]').first().waitFor();
  } catch {
    const status = await page.locator("#tsd-search-status").textContent();
    const shown = await results.evaluateAll((as) => as.map((a) => a.href));
    assert.fail(`no search result links to mapRegion (status: "${status?.trim()}", results: ${shown.join(", ")})`);
  }
  await site.screenshot(page, "search-mapRegion", false);
  const hrefs: string[] = await results.evaluateAll((as) => as.map((a) => a.href));
  console.log(`# site: search results for "mapRegion": ${hrefs.map((h) => h.slice(site.origin.length)).join(", ")}`);
  const index = hrefs.findIndex(isMapRegion);
  assert.ok(index >= 0, `no search result links to the mapRegion page: ${hrefs.join(", ")}`);
  await Promise.all([page.waitForURL(/mapRegion\.html$/), results.nth(index).click()]);
  await page.waitForLoadState("networkidle");
  const h1 = (await page.locator("h1").first().textContent())?.trim() ?? "";
  assert.match(h1, /mapRegion/, `the search result opened ${page.url()}, whose h1 is "${h1}"`);
}

try {
  await run("site");
} finally {
  const site = await opened?.catch(() => undefined);
  if (site) {
    if (site.external.size > 0) {
      console.log("# site: requests to other origins, blocked (the site should work offline):");
      for (const [url, pages] of site.external) console.log(`#   ${url} (from ${[...pages].join(", ")})`);
    }
    console.log(
      `# site: ${site.pagesVisited} page loads, ${site.linksChecked} internal links checked, ` +
        `screenshots in ${relative(screenshotDir)}, ${((Date.now() - started) / 1000).toFixed(1)} s`,
    );
    await site.close();
  }
}

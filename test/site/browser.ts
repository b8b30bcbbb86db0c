/**
 * The built documentation site in a real headless Chromium (Debian's, driven
 * by playwright-core, which downloads no browser of its own): each page is
 * opened from a local HTTP server, watched for console errors, uncaught
 * exceptions and failed or non-2xx requests, checked for headings, saved as a
 * screenshot, and every link on it to the same origin must answer 200 (and a
 * `#anchor` must name an element of the target page) with a page, not a raw
 * Markdown file.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { type Browser, type BrowserContext, chromium, type Page } from "playwright-core";
import { repoRoot } from "./pages.js";
import { type SiteServer, serveSite } from "./server.js";

/** Where the screenshots go (git-ignored; CI uploads the folder as an artifact). */
export const screenshotDir = path.join(repoRoot, "docs", "site-screenshots");

const defaultChromium = "/usr/bin/chromium";

/**
 * The Chromium to drive: PORTABLE_MMAP_CHROMIUM if set (it must exist), else
 * Debian's /usr/bin/chromium. `skip` says why there is none; with
 * PORTABLE_MMAP_REQUIRE_CHROMIUM=1 (as .ci/run sets it) none is an error, so CI
 * cannot skip the site check unseen.
 */
export function findChromium(): { executablePath: string } | { skip: string } | { error: string } {
  const chosen = process.env.PORTABLE_MMAP_CHROMIUM;
  if (chosen) {
    return fs.existsSync(chosen)
      ? { executablePath: chosen }
      : { error: `PORTABLE_MMAP_CHROMIUM is ${chosen}, which does not exist` };
  }
  if (fs.existsSync(defaultChromium)) return { executablePath: defaultChromium };
  const reason =
    `no Chromium at ${defaultChromium} (install Debian's chromium: apt-get install chromium, ` +
    "or set PORTABLE_MMAP_CHROMIUM to a Chromium or Chrome executable)";
  return process.env.PORTABLE_MMAP_REQUIRE_CHROMIUM === "1"
    ? { error: `${reason}, and PORTABLE_MMAP_REQUIRE_CHROMIUM=1 requires one` }
    : { skip: reason };
}

/** Runs a check on a page; if it throws, the problems seen on the page so far are added to the error. */
export async function withProblems<T>(problems: string[], body: () => Promise<T>): Promise<T> {
  try {
    return await body();
  } catch (error) {
    if (problems.length === 0) throw error;
    const message = error instanceof Error ? (error.stack ?? error.message) : String(error);
    throw new Error(`${message}
and on the page:
${problems.map((p) => `- ${p}`).join("\n")}`);
  }
}

/** What one page showed: its problems, and the links and headings on it. */
export interface Visit {
  problems: string[];
  headings: { tag: string; text: string; visible: boolean }[];
  links: string[];
}

export class SiteBrowser {
  private readonly statuses = new Map<string, Promise<number | string>>();
  private readonly ids = new Map<string, Promise<Set<string>>>();
  /** Requests to other origins, which the check blocks (the site must work offline): target URL -> pages. */
  readonly external = new Map<string, Set<string>>();
  linksChecked = 0;
  pagesVisited = 0;

  private constructor(
    private readonly browser: Browser,
    private readonly context: BrowserContext,
    private readonly server: SiteServer,
  ) {}

  static async open(executablePath: string, siteDir: string): Promise<SiteBrowser> {
    const server = await serveSite(siteDir);
    try {
      const browser = await chromium.launch({
        executablePath,
        args: ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking"],
        timeout: 60_000,
      });
      const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, colorScheme: "light" });
      context.setDefaultTimeout(20_000);
      context.setDefaultNavigationTimeout(30_000);
      return new SiteBrowser(browser, context, server);
    } catch (error) {
      await server.close();
      throw error;
    }
  }

  get origin(): string {
    return this.server.origin;
  }

  url(sitePath: string): string {
    return `${this.server.origin}/${sitePath}`;
  }

  async close(): Promise<void> {
    await this.browser.close().catch(() => {});
    await this.server.close();
  }

  /**
   * A new tab that records, into `problems`, console errors, uncaught
   * exceptions, failed requests and answers of 400 or more, and blocks any
   * request to another origin (noted in `external`).
   */
  private async newPage(problems: string[], label: string): Promise<Page> {
    const page = await this.context.newPage();
    const blocked = new Set<string>();
    await page.route("**/*", (route) => {
      const url = route.request().url();
      if (url.startsWith(`${this.origin}/`) || url.startsWith("data:") || url.startsWith("blob:")) {
        return route.continue();
      }
      blocked.add(url);
      const pages = this.external.get(url) ?? new Set<string>();
      pages.add(label);
      this.external.set(url, pages);
      return route.abort("blockedbyclient");
    });
    page.on("console", (message) => {
      if (message.type() !== "error") return;
      const { url, lineNumber } = message.location();
      if (blocked.size > 0 && /ERR_BLOCKED_BY_CLIENT/.test(message.text())) return;
      problems.push(`console error: ${message.text()}${url ? ` (at ${url}:${lineNumber + 1})` : ""}`);
    });
    page.on("pageerror", (error) =>
      problems.push(
        `uncaught exception: ${error.stack || `${error.name || "Error"}: ${error.message || "(no message)"}`}`,
      ),
    );
    page.on("requestfailed", (request) => {
      if (blocked.has(request.url())) return;
      problems.push(`request failed: ${request.url()} (${request.failure()?.errorText ?? "no reason given"})`);
    });
    page.on("response", (response) => {
      if (response.status() >= 400) problems.push(`HTTP ${response.status()} for ${response.url()}`);
    });
    return page;
  }

  /** Goes to a page of the site and waits until typedoc's script has shown it and the network is quiet. */
  private async load(page: Page, sitePath: string, problems: string[]): Promise<boolean> {
    const response = await page.goto(this.url(sitePath), { waitUntil: "load" });
    if (response?.status() !== 200) {
      problems.push(`${sitePath} answered ${response?.status() ?? "nothing"}`);
      return false;
    }
    await page.waitForLoadState("networkidle");
    // typedoc's pages hide <body> until its script calls app.showPage() (or 500 ms pass).
    await page.waitForFunction('document.body.style.display !== "none"');
    return true;
  }

  /** Opens one page: problems on it, its headings, its links, and (unless told not to) a screenshot of the whole page. */
  async visit(sitePath: string, label: string, screenshot = true): Promise<Visit & { page: Page }> {
    const problems: string[] = [];
    const page = await this.newPage(problems, label);
    this.pagesVisited++;
    const visit: Visit & { page: Page } = { problems, headings: [], links: [], page };
    try {
      await withProblems(problems, async () => {
        if (!(await this.load(page, sitePath, problems))) return;
        // typedoc's script fills the side navigation (#tsd-nav-container, "Loading..." until then) from
        // assets/navigation.js: a page where it stays empty has lost its menu.
        const navigation = page.locator("#tsd-nav-container");
        if ((await navigation.count()) > 0) {
          const rendered = await navigation
            .locator("a[href]")
            .first()
            .waitFor({ state: "attached", timeout: 5_000 })
            .then(() => true)
            .catch(() => false);
          if (!rendered) problems.push("the side navigation stayed empty (typedoc's script did not render it)");
        }
        visit.headings = await page.$$eval("h1, h2", (elements) =>
          elements.map((h) => ({
            tag: h.tagName.toLowerCase(),
            text: (h.textContent ?? "").replace(/\s+/g, " ").trim(),
            visible: h.offsetParent !== null || h.getClientRects().length > 0,
          })),
        );
        if (!visit.headings.some((h) => h.text && h.visible)) problems.push("no visible, non-empty h1 or h2");
        for (const h of visit.headings) if (!h.text) problems.push(`an empty <${h.tag}>`);
        visit.links = await page.$$eval("a[href]", (anchors) => anchors.map((a) => a.href));
        if (screenshot) await this.screenshot(page, sitePath.replace(/\.html$/, ""));
      });
    } catch (error) {
      await page.close();
      throw error;
    }
    return visit;
  }

  /** Saves a screenshot as docs/site-screenshots/<name>.png, of the whole page or of what the window shows. */
  async screenshot(page: Page, name: string, fullPage = true): Promise<void> {
    fs.mkdirSync(screenshotDir, { recursive: true });
    await page.screenshot({ path: path.join(screenshotDir, `${name.replace(/[\\/]/g, "__")}.png`), fullPage });
  }

  /** The status of a GET of a URL of the site, once per URL. */
  private status(url: string): Promise<number | string> {
    let status = this.statuses.get(url);
    if (!status) {
      status = fetch(url).then(
        async (response) => {
          await response.arrayBuffer();
          return response.status;
        },
        (error: Error) => `no answer (${error.message})`,
      );
      this.statuses.set(url, status);
    }
    return status;
  }

  /**
   * The ids (and names) of the elements of a page: first from its HTML as
   * served, then, for an anchor not found there, from the page as rendered in
   * Chromium (typedoc adds some with its script).
   */
  private async hasAnchor(url: string, id: string, problems: string[]): Promise<boolean> {
    const html = await (await fetch(url)).text();
    if (attributeValues(html).has(id)) return true;
    let rendered = this.ids.get(url);
    if (!rendered) {
      rendered = (async () => {
        const pageProblems: string[] = [];
        const page = await this.newPage(pageProblems, url);
        try {
          await page.goto(url, { waitUntil: "load" });
          await page.waitForLoadState("networkidle");
          return new Set(
            await page.$$eval("[id], a[name]", (elements) =>
              elements.flatMap((e) => [e.id, e.getAttribute("name") ?? ""]).filter(Boolean),
            ),
          );
        } finally {
          for (const p of pageProblems) problems.push(`on ${url} (opened to find an anchor): ${p}`);
          await page.close();
        }
      })();
      this.ids.set(url, rendered);
    }
    return (await rendered).has(id);
  }

  /** Every link to the site's own origin answers 200, and its #anchor (if any) exists on the target page. */
  async checkLinks(links: string[], problems: string[]): Promise<void> {
    const seen = new Set<string>();
    for (const href of links) {
      if (seen.has(href)) continue;
      seen.add(href);
      let url: URL;
      try {
        url = new URL(href);
      } catch {
        problems.push(`a link that is no URL: ${href}`);
        continue;
      }
      if (url.origin !== this.origin) continue;
      this.linksChecked++;
      const target = `${url.origin}${url.pathname}${url.search}`;
      const status = await this.status(target);
      if (status !== 200) {
        problems.push(`link ${href.slice(this.origin.length)} answered ${status}`);
        continue;
      }
      // typedoc copies a linked Markdown file that is not one of its documents as it is: the
      // reader gets the raw file, not a page (list it in projectDocuments or an @document tag).
      if (/\.(md|markdown)$/i.test(url.pathname)) {
        problems.push(`link ${href.slice(this.origin.length)} is raw Markdown, not a page of the site`);
      }
      if (url.hash.length > 1) {
        let id = url.hash.slice(1);
        try {
          id = decodeURIComponent(id);
        } catch {}
        if (!(await this.hasAnchor(target, id, problems))) {
          problems.push(`link ${href.slice(this.origin.length)}: no element with id "${id}" on the target page`);
        }
      }
    }
  }
}

/** The values of the id and name attributes in an HTML text, entities decoded. */
function attributeValues(html: string): Set<string> {
  const values = new Set<string>();
  for (const m of html.matchAll(/\s(?:id|name)\s*=\s*(?:"([^"]*)"|'([^']*)')/gi)) {
    values.add(
      (m[1] ?? m[2] ?? "")
        .replace(/&quot;/g, '"')
        .replace(/&#39;|&#x27;/g, "'")
        .replace(/&lt;/g, "<")
        .replace(/&gt;/g, ">")
        .replace(/&amp;/g, "&"),
    );
  }
  return values;
}

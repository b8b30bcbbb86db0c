/**
 * Which pages of the built documentation site to check, found from
 * typedoc.json and the site itself, never from a hard-coded list:
 *
 * - the site folder is typedoc.json's "out" (PORTABLE_MMAP_SITE overrides it);
 * - the guides are the Markdown files typedoc.json's "projectDocuments" names
 *   (globs expanded as typedoc does for the simple cases: `*`, `**`, `?`,
 *   `{a,b}`, a folder, a leading `!` to leave files out), and those that
 *   `@document` tags name in the files of its "entryPoints" (relative to the
 *   file, as typedoc reads them);
 * - a guide's page is the site page whose h1 is the guide's first level-1
 *   heading (a guide without one is matched by typedoc's name for it, the
 *   front matter's `title` or the file name, against the page's <title>);
 * - every other page in the site's `documents/` folder is checked as well, so
 *   a document added another way (a `@document` tag) is covered too;
 * - the MMap class page is the page whose h1 is "Class MMap".
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { fileURLToPath } from "node:url";

/** The repository: this file is test/site/pages.ts, or bundled into build/test/site.js. */
export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..");

/** One page of the site: its path under the site folder (with `/`), its <title> and its h1 texts. */
export interface SitePage {
  path: string;
  title: string;
  h1: string[];
}

export interface Guide {
  /** The Markdown file, relative to the repository (with `/`). */
  file: string;
  /** Where typedoc.json brings it in: "projectDocuments", or "@document in <entry point>". */
  from: string;
  exists: boolean;
  /** Its first level-1 heading, as text, if it has one. */
  heading?: string;
  /** typedoc's name for it: the front matter's title, or the path relative to the guides' common folder, less its extension. */
  name: string;
  /** The site pages (paths under the site folder) that render it. */
  pages: string[];
}

export interface SitePlan {
  typedocConfig: string;
  siteDir: string;
  /** Set when the site is not there to check: what is missing and what to run. */
  notBuilt?: string;
  pages: SitePage[];
  guides: Guide[];
  /** Pages under `documents/` that no guide matched. */
  otherDocuments: string[];
  mmapPage?: string;
}

/** JSON with // and /* *\/ comments and trailing commas, as typedoc.json may be written. */
function parseJsonc(text: string): unknown {
  let out = "";
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '"') {
      const start = i;
      for (i++; i < text.length && text[i] !== '"'; i++) if (text[i] === "\\") i++;
      out += text.slice(start, i + 1);
    } else if (c === "/" && text[i + 1] === "/") {
      while (i < text.length && text[i] !== "\n") i++;
      out += "\n";
    } else if (c === "/" && text[i + 1] === "*") {
      i = text.indexOf("*/", i + 2);
      if (i < 0) break;
      i++;
    } else {
      out += c;
    }
  }
  return JSON.parse(out.replace(/,(\s*[}\]])/g, "$1"));
}

function toPosix(p: string): string {
  return p.split(path.sep).join("/");
}

/** Every file under `dir` (recursively), as absolute paths, leaving out node_modules and dot-folders. */
function walk(dir: string): string[] {
  const files: string[] = [];
  let entries: fs.Dirent[];
  try {
    entries = fs.readdirSync(dir, { withFileTypes: true });
  } catch {
    return files;
  }
  for (const entry of entries) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) {
      if (entry.name !== "node_modules" && !entry.name.startsWith(".")) files.push(...walk(full));
    } else if (entry.isFile()) {
      files.push(full);
    }
  }
  return files;
}

/** A glob as a regular expression over posix paths relative to its base. */
function globToRegExp(glob: string): RegExp {
  let re = "";
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i] as string;
    if (c === "*" && glob[i + 1] === "*") {
      i++;
      if (glob[i + 1] === "/") {
        i++;
        re += "(?:.*/)?";
      } else {
        re += ".*";
      }
    } else if (c === "*") re += "[^/]*";
    else if (c === "?") re += "[^/]";
    else if (c === "{") re += "(?:";
    else if (c === "}") re += ")";
    else if (c === ",") re += "|";
    else re += c.replace(/[.+^$()|[\]\\]/g, "\\$&");
  }
  return new RegExp(`^${re}$`);
}

/** Globs (or files, or folders) relative to `base`, expanded to the files whose names match `extension` (absolute paths). */
function expand(patterns: string[], base: string, extension: RegExp): string[] {
  const found: string[] = [];
  const excluded: RegExp[] = [];
  for (const raw of patterns) {
    const negated = raw.startsWith("!");
    const pattern = toPosix(path.resolve(base, negated ? raw.slice(1) : raw));
    const magic = pattern.search(/[*?{]/);
    if (negated) {
      excluded.push(globToRegExp(pattern));
      continue;
    }
    if (magic < 0) {
      const stat = fs.statSync(pattern, { throwIfNoEntry: false });
      if (stat?.isDirectory()) found.push(...walk(pattern).sort());
      else found.push(path.resolve(pattern));
      continue;
    }
    const dir = pattern.slice(0, pattern.lastIndexOf("/", magic) + 1) || "/";
    const re = globToRegExp(pattern);
    found.push(...walk(dir).filter((f) => re.test(toPosix(f))));
  }
  return [...new Set(found)].filter((f) => extension.test(f) && !excluded.some((re) => re.test(toPosix(f))));
}

/** The Markdown files that `@document` tags in these source files name, each with the file that names it. */
function documentTags(sources: string[]): { file: string; source: string }[] {
  const found: { file: string; source: string }[] = [];
  for (const source of sources) {
    let text: string;
    try {
      text = fs.readFileSync(source, "utf8");
    } catch {
      continue;
    }
    for (const comment of text.match(/\/\*\*[\s\S]*?\*\//g) ?? []) {
      for (const m of comment.matchAll(/@document\s+([^\s*]+)/g)) {
        found.push({ file: path.resolve(path.dirname(source), m[1] as string), source });
      }
    }
  }
  return found;
}

/** The longest folder that holds every file (as typedoc's displayName is relative to it). */
function commonDir(files: string[]): string {
  if (files.length === 0) return repoRoot;
  let parts = path.dirname(files[0] as string).split(path.sep);
  for (const f of files) {
    const other = path.dirname(f).split(path.sep);
    let n = 0;
    while (n < parts.length && n < other.length && parts[n] === other[n]) n++;
    parts = parts.slice(0, n);
  }
  return parts.join(path.sep) || path.sep;
}

/** Markdown inline syntax and HTML dropped, whitespace collapsed: how a heading reads. */
function plain(text: string): string {
  return text
    .replace(/!?\[([^\]]*)\]\([^)]*\)/g, "$1")
    .replace(/<[^>]+>/g, "")
    .replace(/&quot;/g, '"')
    .replace(/&#39;|&#x27;|&apos;/g, "'")
    .replace(/&lt;/g, "<")
    .replace(/&gt;/g, ">")
    .replace(/&nbsp;|&#160;/g, " ")
    .replace(/&#(\d+);/g, (_, n: string) => String.fromCodePoint(Number(n)))
    .replace(/&amp;/g, "&")
    .replace(/[`*_~\\]/g, "")
    .replace(/\s+/g, " ")
    .trim();
}

/** The front matter's title and the first level-1 heading of a Markdown file. */
function readGuide(file: string): { title?: string; heading?: string } {
  let text = fs.readFileSync(file, "utf8").replace(/\r\n?/g, "\n");
  let title: string | undefined;
  const front = /^---\n([\s\S]*?)\n---\n/.exec(text);
  if (front) {
    const t = /^title:\s*(.+?)\s*$/m.exec(front[1] as string);
    if (t) title = (t[1] as string).replace(/^(["'])(.*)\1$/, "$2");
    text = text.slice(front[0].length);
  }
  const lines = text.split("\n");
  let fence: string | undefined;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i] as string;
    const f = /^ {0,3}(`{3,}|~{3,})/.exec(line);
    if (f) {
      const mark = f[1] as string;
      if (fence === undefined) fence = mark;
      else if (mark[0] === fence[0] && mark.length >= fence.length) fence = undefined;
      continue;
    }
    if (fence !== undefined) continue;
    const atx = /^ {0,3}#[ \t]+(.*?)(?:[ \t]+#+)?[ \t]*$/.exec(line);
    if (atx) return { title, heading: plain(atx[1] as string) };
    if (line.trim() && /^ {0,3}=+[ \t]*$/.test(lines[i + 1] ?? "")) return { title, heading: plain(line) };
  }
  return { title };
}

/** Every HTML page of the site with its <title> and h1 texts. */
function readPages(siteDir: string): SitePage[] {
  return walk(siteDir)
    .filter((f) => f.endsWith(".html"))
    .map((f) => {
      const html = fs.readFileSync(f, "utf8");
      return {
        path: toPosix(path.relative(siteDir, f)),
        title: plain(/<title>([\s\S]*?)<\/title>/i.exec(html)?.[1] ?? ""),
        h1: [...html.matchAll(/<h1\b[^>]*>([\s\S]*?)<\/h1>/gi)].map((m) => plain(m[1] as string)),
      };
    })
    .sort((a, b) => a.path.localeCompare(b.path));
}

/** Reads typedoc.json and the built site, and works out which pages to check. */
export function planSite(): SitePlan {
  const typedocConfig = path.join(repoRoot, "typedoc.json");
  const config = parseJsonc(fs.readFileSync(typedocConfig, "utf8")) as {
    out?: string;
    name?: string;
    entryPoints?: string[];
    projectDocuments?: string[];
  };
  const configDir = path.dirname(typedocConfig);
  const siteDir = process.env.PORTABLE_MMAP_SITE
    ? path.resolve(process.env.PORTABLE_MMAP_SITE)
    : path.resolve(configDir, config.out ?? "docs");
  const projectDocuments = expand(config.projectDocuments ?? [], configDir, /\.(md|markdown)$/i);
  const base = commonDir(projectDocuments);
  const entryPoints = expand(config.entryPoints ?? [], configDir, /\.[cm]?[jt]sx?$/i);
  // One entry per file, however many times typedoc.json brings it in.
  const guides = new Map<string, { file: string; from: string; name?: string }>();
  for (const file of projectDocuments) guides.set(file, { file, from: "projectDocuments" });
  for (const { file, source } of documentTags(entryPoints)) {
    const from = `@document in ${toPosix(path.relative(repoRoot, source))}`;
    const known = guides.get(file);
    if (known) known.from += ` and ${from}`;
    else guides.set(file, { file, from, name: path.basename(file).replace(/\.[^.]+$/, "") });
  }

  const plan: SitePlan = { typedocConfig, siteDir, pages: [], guides: [], otherDocuments: [] };
  if (!fs.existsSync(path.join(siteDir, "index.html"))) {
    plan.notBuilt = `the documentation site is not built: ${path.join(siteDir, "index.html")} is missing (run \`npm run docs\`)`;
  } else {
    plan.pages = readPages(siteDir);
  }

  const claimed = new Set<string>();
  for (const { file, from, name: tagName } of guides.values()) {
    const exists = fs.existsSync(file);
    const { title, heading } = exists ? readGuide(file) : {};
    const name = title ?? tagName ?? toPosix(path.relative(base, file)).replace(/\.[^.]+$/, "");
    const project = config.name ? ` | ${config.name}` : "";
    const pages = plan.pages
      .filter((p) => (heading !== undefined ? p.h1.includes(heading) : p.title === `${name}${project}`))
      // The site's index renders the README: a guide that shares its heading is not the index.
      .filter((p) => p.path !== "index.html")
      .map((p) => p.path);
    for (const p of pages) claimed.add(p);
    plan.guides.push({ file: toPosix(path.relative(repoRoot, file)), from, exists, heading, name, pages });
  }
  plan.otherDocuments = plan.pages.map((p) => p.path).filter((p) => p.startsWith("documents/") && !claimed.has(p));
  plan.mmapPage = plan.pages.find((p) => p.h1.some((h) => /^Class MMap\b/.test(h)))?.path;
  return plan;
}

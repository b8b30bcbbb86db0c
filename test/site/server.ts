/**
 * A tiny static file server for the built documentation site, on 127.0.0.1
 * and a port the system picks. The site is served over HTTP rather than
 * opened as file:// because typedoc's search and navigation load their data
 * with fetch, which file:// pages may not do.
 */
import * as fs from "node:fs";
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import * as path from "node:path";

const types: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".mjs": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".json": "application/json",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".jpg": "image/jpeg",
  ".jpeg": "image/jpeg",
  ".gif": "image/gif",
  ".webp": "image/webp",
  ".ico": "image/x-icon",
  ".woff": "font/woff",
  ".woff2": "font/woff2",
  ".txt": "text/plain; charset=utf-8",
  ".md": "text/markdown; charset=utf-8",
};

export interface SiteServer {
  /** The origin, like `http://127.0.0.1:41234`, with no trailing slash. */
  origin: string;
  close(): Promise<void>;
}

/** Serves `root` (GET and HEAD only; a directory serves its index.html; anything outside `root` is 404). */
export async function serveSite(root: string): Promise<SiteServer> {
  const base = path.resolve(root);
  const server = http.createServer((request, response) => {
    const send = (status: number, body: string) => {
      response.writeHead(status, { "content-type": "text/plain; charset=utf-8" });
      response.end(request.method === "HEAD" ? undefined : body);
    };
    if (request.method !== "GET" && request.method !== "HEAD") return send(405, "method not allowed");
    let file: string;
    try {
      const { pathname } = new URL(request.url ?? "/", "http://site");
      file = path.join(base, decodeURIComponent(pathname));
    } catch {
      return send(400, "bad request");
    }
    if (file !== base && !file.startsWith(base + path.sep)) return send(404, "not found");
    fs.stat(file, (error, stat) => {
      if (!error && stat.isDirectory()) file = path.join(file, "index.html");
      fs.readFile(file, (readError, data) => {
        if (readError) return send(404, "not found");
        response.writeHead(200, {
          "content-type": types[path.extname(file).toLowerCase()] ?? "application/octet-stream",
          "content-length": data.length,
          "cache-control": "no-store",
        });
        response.end(request.method === "HEAD" ? undefined : data);
      });
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    origin: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

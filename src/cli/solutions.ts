/**
 * "Possible solutions" for a backend that does not load, from the reason it
 * gave and what this host is (as sharp prints for an addon that fails).
 *
 * @module
 */
import type { BackendName } from "../backends/contract.js";
import { runtimeId } from "./runtime.js";

/** What the solutions depend on. */
export interface SolutionContext {
  /** Why the backend did not load. */
  reason: string;
  /** `linux-x64`, with `-musl` or `-glibc` where known. */
  target: string;
  /** The addon file that was found for this platform but did not load, if any. */
  addonFile?: string;
}

const buildFromSource =
  "build the addon from source: npm explore portable-mmap -- npm run build:native (needs Python, a C++ compiler and the Node.js headers, which node-gyp downloads for the running Node.js; see docs/installing.md)";
const noAddons =
  "run without --no-addons (look at NODE_OPTIONS too), or under Node's permission model (--permission) add --allow-addons";
const denoFlags = "run Deno with --allow-ffi --allow-env --allow-read (or -A), which loading an addon needs";

function nativeSolutions({ reason, target, addonFile }: SolutionContext): string[] {
  if (/loading addons is disabled/i.test(reason)) return [`${noAddons}; koffi needs addons as well`];
  if (/Requires \w+ access/.test(reason)) return [denoFlags];
  if (/refuses external ArrayBuffers/.test(reason))
    return [
      "nothing to do here: this runtime (Electron's memory cage) refuses memory it does not own; koffi or the fallback is used",
    ];
  if (/package root of portable-mmap not found|must be a file URL/.test(reason))
    return ["do not bundle portable-mmap into another file: mark it external in your bundler (see docs/installing.md)"];
  if (/No native build was found/.test(reason))
    return [`there is no prebuilt addon for ${target}: koffi is used instead, or ${buildFromSource}`];
  if (/GLIBC_[\d.]+' not found|GLIBC_[\d.]+ not found/.test(reason))
    return [
      `the prebuilt addon needs a newer glibc than this system has: koffi is used instead, or ${buildFromSource}`,
    ];
  return [
    `the addon${addonFile ? ` at ${addonFile}` : ""} was found but did not load: ${buildFromSource}`,
    "if a shipped prebuild fails to load, please report it with the output of npx portable-mmap info --json",
  ];
}

function koffiSolutions({ reason, target }: SolutionContext): string[] {
  if (/loading addons is disabled/i.test(reason)) return [`${noAddons}; koffi is itself a native addon`];
  if (/Requires \w+ access/.test(reason)) return [runtimeId().name === "deno" ? denoFlags : "grant the runtime FFI"];
  if (/Cannot find module 'koffi'|Cannot find package 'koffi'|find module "koffi"/i.test(reason))
    return ["install koffi (npm install koffi): it is a dependency of portable-mmap and ships prebuilt binaries"];
  if (/koffi could not be loaded/.test(reason))
    return [
      `install koffi's binary package for ${target} (@koromix/koffi-${process.platform}-${process.arch}): reinstall without --omit=optional or --no-optional; koffi ships prebuilt binaries, so declining its install script is fine`,
    ];
  return [
    "koffi loaded but cannot be used on this runtime or system (see the reason); the native addon or the fallback is used",
  ];
}

/** Possible solutions for a backend that did not load, best first; never empty. */
export function solutionsFor(name: BackendName, context: SolutionContext): string[] {
  if (name === "native") return nativeSolutions(context);
  if (name === "koffi") return koffiSolutions(context);
  return ["the fallback loads everywhere: please report this with the output of npx portable-mmap info --json"];
}

// Windows, MinGW-w64 builds only (scripts/prebuild.mjs). The addon imports
// Node-API from "node.exe", delay-loaded; this hook hands the delay-load
// helper the process's own executable instead, so the addon also loads in
// hosts with another name that export Node-API (a renamed node.exe, Electron,
// Bun, Deno) and never loads a node.exe found on the PATH into them.
// node-gyp builds with MSVC get the same hook from node-gyp
// (win_delay_load_hook.cc), so binding.gyp does not list this file.

#if defined(_WIN32) && defined(__MINGW32__)

#ifndef WIN32_LEAN_AND_MEAN
#define WIN32_LEAN_AND_MEAN
#endif
#include <windows.h>
#include <delayimp.h>
#include <string.h>

namespace {

FARPROC WINAPI LoadHostHook(unsigned event, PDelayLoadInfo info) {
  if (event != dliNotePreLoadLibrary || _stricmp(info->szDll, "node.exe") != 0) return nullptr;
  return reinterpret_cast<FARPROC>(GetModuleHandleW(nullptr));
}

}  // namespace

// Replaces MinGW's default (null) hook from libmingwex; C linkage from delayimp.h.
PfnDliHook __pfnDliNotifyHook2 = LoadHostHook;

#endif

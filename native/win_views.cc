// Windows views that can be retired in place; see win_views.h. Sequences and
// their checks were worked out under Wine 8 (no placeholders) and Wine 10
// (placeholders); the constants are the Windows SDK's (winnt.h), which
// MinGW-w64's headers lack, and the functions are looked up at run time, so
// the addon loads where they are missing.
#ifdef _WIN32

#include "win_views.h"

#ifndef WIN32_LEAN_AND_MEAN
#define WIN32_LEAN_AND_MEAN
#endif
#include <windows.h>

#include <atomic>

#include "table.h"

namespace pmm {
namespace win {

namespace {

constexpr ULONG kMemReplacePlaceholder = 0x00004000;   // MEM_REPLACE_PLACEHOLDER
constexpr ULONG kMemReservePlaceholder = 0x00040000;   // MEM_RESERVE_PLACEHOLDER
constexpr ULONG kMemPreservePlaceholder = 0x00000002;  // MEM_PRESERVE_PLACEHOLDER

typedef PVOID(WINAPI* VirtualAlloc2Fn)(HANDLE, PVOID, SIZE_T, ULONG, ULONG, void*, ULONG);
typedef PVOID(WINAPI* MapViewOfFile3Fn)(HANDLE, HANDLE, PVOID, ULONG64, SIZE_T, ULONG, ULONG, void*, ULONG);
typedef BOOL(WINAPI* UnmapViewOfFile2Fn)(HANDLE, PVOID, ULONG);

struct Api {
  VirtualAlloc2Fn VirtualAlloc2 = nullptr;
  MapViewOfFile3Fn MapViewOfFile3 = nullptr;
  UnmapViewOfFile2Fn UnmapViewOfFile2 = nullptr;
};

template <typename F>
F Resolve(HMODULE module, const char* name) {
  return reinterpret_cast<F>(reinterpret_cast<void*>(GetProcAddress(module, name)));
}

// kernelbase.dll exports all three (kernel32.dll does not export
// VirtualAlloc2 or MapViewOfFile3 on Windows 11); the API set resolves to it.
const Api& Functions() {
  static const Api api = [] {
    Api a;
    const char* const dlls[] = {"kernelbase.dll", "api-ms-win-core-memory-l1-1-6.dll"};
    for (const char* dll : dlls) {
      HMODULE m = GetModuleHandleA(dll);
      if (m == nullptr) m = LoadLibraryExA(dll, nullptr, LOAD_LIBRARY_SEARCH_SYSTEM32);
      if (m == nullptr) continue;
      if (!a.VirtualAlloc2) a.VirtualAlloc2 = Resolve<VirtualAlloc2Fn>(m, "VirtualAlloc2");
      if (!a.MapViewOfFile3) a.MapViewOfFile3 = Resolve<MapViewOfFile3Fn>(m, "MapViewOfFile3");
      if (!a.UnmapViewOfFile2) a.UnmapViewOfFile2 = Resolve<UnmapViewOfFile2Fn>(m, "UnmapViewOfFile2");
    }
    return a;
  }();
  return api;
}

size_t PageSize() {
  SYSTEM_INFO info;
  GetSystemInfo(&info);
  return info.dwPageSize;
}

// Whether [p, p + size) is exactly one region in `state` (and `type`, if not 0).
bool RegionIs(void* p, size_t size, DWORD state, DWORD type) {
  MEMORY_BASIC_INFORMATION m;
  if (VirtualQuery(p, &m, sizeof m) != sizeof m) return false;
  return m.BaseAddress == p && m.AllocationBase == p && m.RegionSize == size && m.State == state &&
         (type == 0 || m.Type == type);
}

// ------------------------------------------------------------ the transition guard
// Retiring takes two calls (UnmapViewOfFile2, then VirtualAlloc2): between
// them the range is a bare placeholder, reserved (nobody else can take it)
// but without access. Another thread touching it then (a thread-pool job
// holding a raw pointer) would fault. This vectored handler retries such a
// fault once the retirement is over; any fault outside the addon's ranges
// goes on to the next handler untouched.

struct Transition {
  std::atomic<uintptr_t> start{0};
  std::atomic<uintptr_t> end{0};
};
constexpr int kTransitions = 64;
Transition transitions[kTransitions];

bool InTransition(uintptr_t a) {
  for (Transition& t : transitions) {
    uintptr_t s = t.start.load(std::memory_order_acquire);
    if (s != 0 && a >= s && a < t.end.load(std::memory_order_acquire)) return true;
  }
  return false;
}

// Whether a read (kind 0) or write (kind 1) at `a` is allowed now.
bool AccessibleNow(uintptr_t a, ULONG_PTR kind) {
  MEMORY_BASIC_INFORMATION m;
  if (VirtualQuery(reinterpret_cast<void*>(a), &m, sizeof m) != sizeof m) return false;
  if (m.State != MEM_COMMIT || (m.Protect & (PAGE_GUARD | PAGE_NOACCESS))) return false;
  const DWORD readable = PAGE_READONLY | PAGE_READWRITE | PAGE_WRITECOPY | PAGE_EXECUTE_READ |
                         PAGE_EXECUTE_READWRITE | PAGE_EXECUTE_WRITECOPY;
  const DWORD writable = PAGE_READWRITE | PAGE_WRITECOPY | PAGE_EXECUTE_READWRITE | PAGE_EXECUTE_WRITECOPY;
  return (m.Protect & (kind == 1 ? writable : readable)) != 0;
}

LONG CALLBACK TransitionGuard(EXCEPTION_POINTERS* info) {
  const EXCEPTION_RECORD* r = info->ExceptionRecord;
  if (r->ExceptionCode != EXCEPTION_ACCESS_VIOLATION || r->NumberParameters < 2) return EXCEPTION_CONTINUE_SEARCH;
  ULONG_PTR kind = r->ExceptionInformation[0];  // 0 read, 1 write, 8 execute: only reads and writes
  uintptr_t a = r->ExceptionInformation[1];
  if (kind > 1) return EXCEPTION_CONTINUE_SEARCH;
  bool waited = false;
  while (InTransition(a)) {  // the retiring thread is between its two calls: microseconds
    waited = true;
    SwitchToThread();
  }
  // Or the retirement finished between the fault and this handler: retry only in the addon's own ranges.
  if (waited || (table::Owns(a) && AccessibleNow(a, kind))) return EXCEPTION_CONTINUE_EXECUTION;
  return EXCEPTION_CONTINUE_SEARCH;
}

void InstallGuard() {
  static PVOID handler = AddVectoredExceptionHandler(1, TransitionGuard);
  (void)handler;
}

struct TransitionScope {
  int slot;
  TransitionScope(void* p, size_t size) {
    for (;;) {
      for (slot = 0; slot < kTransitions; slot++) {
        uintptr_t expected = 0;
        if (transitions[slot].start.compare_exchange_strong(expected, reinterpret_cast<uintptr_t>(p),
                                                            std::memory_order_acq_rel)) {
          transitions[slot].end.store(reinterpret_cast<uintptr_t>(p) + size, std::memory_order_release);
          return;
        }
      }
      SwitchToThread();  // more than 64 retirements at once: wait for a slot
    }
  }
  ~TransitionScope() {
    transitions[slot].end.store(0, std::memory_order_release);
    transitions[slot].start.store(0, std::memory_order_release);
  }
};

// The whole cycle once, on a pagefile-backed section of one allocation
// granule: true only if every step works and leaves the state it must. Wine 8
// exports the functions, but MapViewOfFile3 ignores MEM_REPLACE_PLACEHOLDER
// (maps elsewhere) and UnmapViewOfFile2 ignores MEM_PRESERVE_PLACEHOLDER
// (frees the range and returns TRUE), so return values alone prove nothing.
bool Probe() {
  const Api& api = Functions();
  if (!api.VirtualAlloc2 || !api.MapViewOfFile3 || !api.UnmapViewOfFile2) return false;
  SYSTEM_INFO info;
  GetSystemInfo(&info);
  const size_t size = info.dwAllocationGranularity;
  HANDLE self = GetCurrentProcess();
  HANDLE section =
      CreateFileMappingW(INVALID_HANDLE_VALUE, nullptr, PAGE_READWRITE, 0, static_cast<DWORD>(size), nullptr);
  if (section == nullptr) return false;
  bool ok = false, own_placeholder = false;
  void* ph = api.VirtualAlloc2(self, nullptr, size, MEM_RESERVE | kMemReservePlaceholder, PAGE_NOACCESS, nullptr, 0);
  if (ph != nullptr) {
    own_placeholder = true;
    void* v = api.MapViewOfFile3(section, self, ph, 0, size, kMemReplacePlaceholder, PAGE_READWRITE, nullptr, 0);
    if (v != nullptr && v != ph) {
      UnmapViewOfFile(v);  // mapped elsewhere: the flag was ignored
    } else if (v == ph) {
      own_placeholder = false;
      static_cast<volatile uint8_t*>(v)[0] = 1;
      if (!api.UnmapViewOfFile2(self, v, kMemPreservePlaceholder)) {
        UnmapViewOfFile(v);
      } else if (RegionIs(ph, size, MEM_RESERVE, 0)) {
        own_placeholder = true;
        void* z = api.VirtualAlloc2(self, ph, size, kMemReplacePlaceholder | MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE,
                                    nullptr, 0);
        ok = z == ph && RegionIs(ph, size, MEM_COMMIT, MEM_PRIVATE) && static_cast<volatile uint8_t*>(z)[0] == 0;
      }  // else the range was freed by an UnmapViewOfFile2 that ignored the flag: not ours any more
    }
    if (own_placeholder && !VirtualFree(ph, 0, MEM_RELEASE)) ok = false;
  }
  CloseHandle(section);
  return ok;
}

DWORD AccessOf(DWORD protect) {
  switch (protect) {
    case PAGE_READWRITE:
      return FILE_MAP_WRITE;
    case PAGE_WRITECOPY:
      return FILE_MAP_COPY;
    case PAGE_EXECUTE_READ:
      return FILE_MAP_READ | FILE_MAP_EXECUTE;
    case PAGE_EXECUTE_READWRITE:
      return FILE_MAP_WRITE | FILE_MAP_EXECUTE;
    case PAGE_EXECUTE_WRITECOPY:
      return FILE_MAP_COPY | FILE_MAP_EXECUTE;
    default:
      return FILE_MAP_READ;
  }
}

}  // namespace

bool PlaceholdersWork() {
  static const bool works = Probe();
  return works;
}

uint32_t ProtectionOf(uint32_t access) {
  bool exec = access & FILE_MAP_EXECUTE;
  if (access & FILE_MAP_COPY) return exec ? PAGE_EXECUTE_WRITECOPY : PAGE_WRITECOPY;
  if (access & FILE_MAP_WRITE) return exec ? PAGE_EXECUTE_READWRITE : PAGE_READWRITE;
  return exec ? PAGE_EXECUTE_READ : PAGE_READONLY;
}

uint32_t MapView(void* section, uint64_t offset, size_t length, uint32_t protect, View* out) {
  const Api& api = Functions();
  HANDLE self = GetCurrentProcess();
  const size_t page = PageSize();
  View v = {nullptr, length, (length + page - 1) & ~(page - 1), offset, protect, nullptr, false, kViewMapped};
  if (PlaceholdersWork()) {
    void* ph =
        api.VirtualAlloc2(self, nullptr, v.span, MEM_RESERVE | kMemReservePlaceholder, PAGE_NOACCESS, nullptr, 0);
    if (ph != nullptr) {
      // The length as MapViewOfFile gets it: a view size past the section's end is refused.
      void* p = api.MapViewOfFile3(section, self, ph, offset, length, kMemReplacePlaceholder, protect, nullptr, 0);
      if (p == ph) {
        HANDLE dup = nullptr;
        if (DuplicateHandle(self, section, self, &dup, 0, FALSE, DUPLICATE_SAME_ACCESS)) v.section = dup;
        v.addr = static_cast<uint8_t*>(p);
        v.placeholder = true;
        *out = v;
        return 0;
      }
      if (p != nullptr) UnmapViewOfFile(p);
      VirtualFree(ph, 0, MEM_RELEASE);
      // A plain view then; its error, if any, is the one to report.
    }
  }
  void* p = MapViewOfFile(section, AccessOf(protect), static_cast<DWORD>(offset >> 32), static_cast<DWORD>(offset),
                          length);
  if (p == nullptr) return GetLastError();
  v.addr = static_cast<uint8_t*>(p);
  *out = v;
  return 0;
}

void RetireView(View* v) {
  if (v->state != kViewMapped) return;
  if (!v->placeholder) {
    v->state = kViewKept;
    return;
  }
  const Api& api = Functions();
  HANDLE self = GetCurrentProcess();
  InstallGuard();
  TransitionScope window(v->addr, v->span);
  if (!api.UnmapViewOfFile2(self, v->addr, kMemPreservePlaceholder)) {
    v->state = kViewKept;  // an unmap that fails changes nothing
    return;
  }
  // The placeholder is ours: nothing else can take it.
  if (api.VirtualAlloc2(self, v->addr, v->span, kMemReplacePlaceholder | MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE,
                        nullptr, 0) == v->addr) {
    v->state = kViewRetired;
  } else if (v->section != nullptr &&
             api.MapViewOfFile3(v->section, self, v->addr, v->offset, v->length, kMemReplacePlaceholder, v->protect,
                                nullptr, 0) == v->addr) {
    v->state = kViewKept;  // no commit for the zero pages (a huge shared map): the view goes back
  } else {
    // Reserved without access: an access faults, but the range is never reused.
    api.VirtualAlloc2(self, v->addr, v->span, kMemReplacePlaceholder | MEM_RESERVE, PAGE_NOACCESS, nullptr, 0);
    v->state = kViewReservedOnly;
  }
  if (v->state != kViewKept && v->section != nullptr) {
    CloseHandle(v->section);
    v->section = nullptr;
  }
}

void ReleaseView(View* v) {
  if (v->state == kViewMapped || v->state == kViewKept) UnmapViewOfFile(v->addr);  // a placeholder's range too
  else VirtualFree(v->addr, 0, MEM_RELEASE);
  if (v->section != nullptr) CloseHandle(v->section);
  v->section = nullptr;
}

}  // namespace win
}  // namespace pmm

#endif  // _WIN32

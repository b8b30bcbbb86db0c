/**
 * The koffi backend on Windows: kernel32's section and view calls, bound
 * once. Descriptors are turned into `HANDLE`s with `uv_get_osfhandle`, which
 * the runtime's executable exports (`_get_osfhandle` of the C runtime sees a
 * different descriptor table). Shared file maps keep a duplicate of the
 * file's handle for `FlushFileBuffers`, so the caller may close its
 * descriptor right after mapping.
 *
 * @module
 */
import { systemError, win32Error } from "../../api/errors.js";
import type { Advice, MapRequest, Section, SharedOpen } from "../contract.js";
import type { Handle, Koffi, System } from "./types.js";

// winnt.h
const PAGE_READONLY = 0x02;
const PAGE_READWRITE = 0x04;
const PAGE_WRITECOPY = 0x08;
const PAGE_EXECUTE_READ = 0x20;
const PAGE_EXECUTE_READWRITE = 0x40;
const PAGE_EXECUTE_WRITECOPY = 0x80;
const DUPLICATE_SAME_ACCESS = 0x2;
const GENERIC_READ = 0x8000_0000;
const GENERIC_WRITE = 0x4000_0000;
const GENERIC_EXECUTE = 0x2000_0000;
const FILE_SHARE_ALL = 0x1 | 0x2 | 0x4; // FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE
// memoryapi.h
const FILE_MAP_COPY = 0x01;
const FILE_MAP_WRITE = 0x02;
const FILE_MAP_READ = 0x04;
const FILE_MAP_EXECUTE = 0x20;
// winerror.h
const ERROR_NOT_LOCKED = 158;
const ERROR_ALREADY_EXISTS = 183;

type Ptr = bigint | null;
type Callback<R> = (error: unknown, result: R) => void;
/** A bound C function, callable synchronously or on koffi's worker threads. */
type Fn<A extends unknown[], R> = ((...args: A) => R) & { async: (...args: [...A, Callback<R>]) => void };

/** The kernel32 functions the backend uses, bound with koffi. BOOL results are numbers (0 = failure). */
export interface WindowsCalls {
  readonly CreateFileMappingW: Fn<[Ptr, null, number, number, number, null], Ptr>;
  readonly MapViewOfFile: Fn<[Ptr, number, number, number, number], Ptr>;
  readonly UnmapViewOfFile: Fn<[Ptr], number>;
  readonly FlushViewOfFile: Fn<[Ptr, number], number>;
  readonly FlushFileBuffers: Fn<[Ptr], number>;
  readonly VirtualLock: Fn<[Ptr, number], number>;
  readonly VirtualUnlock: Fn<[Ptr, number], number>;
  readonly VirtualProtect: Fn<[Ptr, number, number, number[]], number>;
  readonly CloseHandle: Fn<[Ptr], number>;
  /** A new handle to an open file with other access rights (here: FILE_EXECUTE for EXEC maps). */
  readonly ReOpenFile: Fn<[Ptr, number, number, number], Ptr>;
  readonly DuplicateHandle: Fn<[Ptr, Ptr, Ptr, Ptr[], number, number, number], number>;
  readonly GetCurrentProcess: Fn<[], Ptr>;
  readonly GetLastError: Fn<[], number>;
  /** Windows 7 and later (psapi's QueryWorkingSetEx); undefined where missing. */
  readonly K32QueryWorkingSetEx?: Fn<[Ptr, BigUint64Array | Uint32Array, number], number>;
  /**
   * Windows 8 and later; undefined where missing. Looked up on first use (a
   * `willneed` advice, a `populate` map), not when the backend loads.
   */
  readonly PrefetchVirtualMemory?: Fn<[Ptr, number, BigUint64Array | Uint32Array, number], number>;
  /** The same call with a name (`Local\\...`), for named shared memory. */
  readonly CreateNamedMapping: Fn<[Ptr, null, number, number, number, string], Ptr>;
  readonly OpenFileMappingW: Fn<[number, number, string], Ptr>;
  /** The size of the region at an address (RegionSize of MEMORY_BASIC_INFORMATION); 0 on failure. */
  readonly regionSize: (addr: Ptr) => number;
  /** libuv's descriptor to HANDLE, from the runtime's executable. */
  readonly uv_get_osfhandle: Fn<[number], Ptr>;
  /** The page size and the allocation granularity (64 KiB), from GetSystemInfo. */
  readonly pageSize: number;
  readonly allocationGranularity: number;
  /** Bits in a pointer: 64 or 32. */
  readonly pointerBits: number;
}

/** Binds kernel32 and `uv_get_osfhandle`. Throws a plain Error when they cannot be bound. */
export function bindWindows(koffi: Koffi): WindowsCalls {
  const k32 = koffi.load("kernel32.dll");
  const optional = <T>(prototype: string): T | undefined => {
    try {
      return k32.func(prototype) as T;
    } catch {
      return undefined;
    }
  };
  let host: ReturnType<Koffi["load"]>;
  let uv_get_osfhandle: WindowsCalls["uv_get_osfhandle"];
  try {
    host = koffi.load(process.execPath);
    uv_get_osfhandle = host.func("void *uv_get_osfhandle(int fd)");
  } catch (error) {
    throw new Error(`uv_get_osfhandle is not exported by ${process.execPath}: ${(error as Error).message}`);
  }
  const SYSTEM_INFO = koffi.struct({
    wProcessorArchitecture: "uint16_t",
    wReserved: "uint16_t",
    dwPageSize: "uint32_t",
    lpMinimumApplicationAddress: "void *",
    lpMaximumApplicationAddress: "void *",
    dwActiveProcessorMask: "uintptr_t",
    dwNumberOfProcessors: "uint32_t",
    dwProcessorType: "uint32_t",
    dwAllocationGranularity: "uint32_t",
    wProcessorLevel: "uint16_t",
    wProcessorRevision: "uint16_t",
  });
  const GetSystemInfo = k32.func("__stdcall", "GetSystemInfo", "void", [koffi.out(koffi.pointer(SYSTEM_INFO))]);
  const info: { dwPageSize?: number; dwAllocationGranularity?: number } = {};
  GetSystemInfo(info);
  let prefetch: WindowsCalls["PrefetchVirtualMemory"] | null = null; // null: not looked up yet
  // Without PartitionId (64-bit only), whose room is the padding before RegionSize anyway.
  const MEMORY_BASIC_INFORMATION = koffi.struct({
    BaseAddress: "void *",
    AllocationBase: "void *",
    AllocationProtect: "uint32_t",
    RegionSize: "size_t",
    State: "uint32_t",
    Protect: "uint32_t",
    Type: "uint32_t",
  });
  const VirtualQuery = k32.func("__stdcall", "VirtualQuery", "size_t", [
    "void *",
    koffi.out(koffi.pointer(MEMORY_BASIC_INFORMATION)),
    "size_t",
  ]);
  const mbiSize = koffi.sizeof(MEMORY_BASIC_INFORMATION);
  return {
    CreateFileMappingW: k32.func(
      "void * __stdcall CreateFileMappingW(void *hFile, void *attributes, uint32_t protect, uint32_t maxHigh, uint32_t maxLow, void *name)",
    ),
    MapViewOfFile: k32.func(
      "void * __stdcall MapViewOfFile(void *mapping, uint32_t access, uint32_t offsetHigh, uint32_t offsetLow, size_t length)",
    ),
    UnmapViewOfFile: k32.func("int __stdcall UnmapViewOfFile(void *addr)"),
    FlushViewOfFile: k32.func("int __stdcall FlushViewOfFile(void *addr, size_t length)"),
    FlushFileBuffers: k32.func("int __stdcall FlushFileBuffers(void *file)"),
    VirtualLock: k32.func("int __stdcall VirtualLock(void *addr, size_t length)"),
    VirtualUnlock: k32.func("int __stdcall VirtualUnlock(void *addr, size_t length)"),
    VirtualProtect: k32.func(
      "int __stdcall VirtualProtect(void *addr, size_t length, uint32_t protect, _Out_ uint32_t *old)",
    ),
    CloseHandle: k32.func("int __stdcall CloseHandle(void *handle)"),
    ReOpenFile: k32.func("void * __stdcall ReOpenFile(void *file, uint32_t access, uint32_t share, uint32_t flags)"),
    DuplicateHandle: k32.func(
      "int __stdcall DuplicateHandle(void *sourceProcess, void *source, void *targetProcess, _Out_ void **target, uint32_t access, int inherit, uint32_t options)",
    ),
    GetCurrentProcess: k32.func("void * __stdcall GetCurrentProcess()"),
    GetLastError: k32.func("uint32_t __stdcall GetLastError()"),
    K32QueryWorkingSetEx: optional("int __stdcall K32QueryWorkingSetEx(void *process, void *entries, uint32_t size)"),
    get PrefetchVirtualMemory() {
      if (prefetch === null) {
        prefetch = optional<NonNullable<WindowsCalls["PrefetchVirtualMemory"]>>(
          "int __stdcall PrefetchVirtualMemory(void *process, uintptr_t count, void *entries, uint32_t flags)",
        );
      }
      return prefetch;
    },
    CreateNamedMapping: k32.func(
      "void * __stdcall CreateFileMappingW(void *hFile, void *attributes, uint32_t protect, uint32_t maxHigh, uint32_t maxLow, const char16_t *name)",
    ),
    OpenFileMappingW: k32.func("void * __stdcall OpenFileMappingW(uint32_t access, int inherit, const char16_t *name)"),
    regionSize(addr) {
      const out: { RegionSize?: number | bigint } = {};
      if (VirtualQuery(addr, out, mbiSize) !== mbiSize) return 0;
      return Number(out.RegionSize ?? 0);
    },
    uv_get_osfhandle,
    pageSize: info.dwPageSize ?? 0,
    allocationGranularity: info.dwAllocationGranularity ?? 0,
    pointerBits: koffi.sizeof("void *") * 8,
  };
}

const high = (n: number): number => Math.floor(n / 0x1_0000_0000);
const low = (n: number): number => n >>> 0;

/** The backend's system layer on Windows. Throws a plain Error when kernel32 cannot be bound. */
export function windowsSystem(koffi: Koffi): System {
  const w = bindWindows(koffi);
  const { pageSize, GetLastError } = w;
  if (!(pageSize > 0) || !(w.allocationGranularity > 0)) throw new Error("GetSystemInfo reported no page size");
  const self = w.GetCurrentProcess();
  const INVALID_HANDLE_VALUE = (1n << BigInt(w.pointerBits)) - 1n;
  const wide = w.pointerBits === 64;
  const at = (h: Handle, offset: number): bigint => (offset === 0 ? h.addr : h.addr + BigInt(offset));
  const check = (ok: number, syscall: string): void => {
    if (!ok) throw win32Error(GetLastError(), syscall);
  };
  /** PrefetchVirtualMemory over one range; a hint, so its failure (or its absence, before Windows 8) is not reported. */
  const prefetch = (addr: bigint, length: number): void => {
    const call = w.PrefetchVirtualMemory;
    if (!call) return;
    const entry = wide ? new BigUint64Array([addr, BigInt(length)]) : new Uint32Array([Number(addr), length]);
    call(self, 1, entry, 0);
  };
  const protection = (writable: boolean, copy: boolean, exec: boolean): number => {
    if (!writable) return exec ? PAGE_EXECUTE_READ : PAGE_READONLY;
    if (copy) return exec ? PAGE_EXECUTE_WRITECOPY : PAGE_WRITECOPY;
    return exec ? PAGE_EXECUTE_READWRITE : PAGE_READWRITE;
  };

  return {
    pageSize,
    allocationGranularity: w.allocationGranularity,
    reportsResidency: w.K32QueryWorkingSetEx !== undefined,
    map(req: MapRequest): Handle {
      let file: Ptr = INVALID_HANDLE_VALUE; // a section backed by the paging file
      if (!req.anon) {
        file = w.uv_get_osfhandle(req.fd);
        if (file === null || file === INVALID_HANDLE_VALUE) throw systemError("EBADF", "uv_get_osfhandle");
      }
      const shared = req.shared && !req.anon;
      const copy = !req.shared && !req.anon;
      const prot = protection(req.writable, copy, req.exec);
      const size = req.anon ? req.length : req.offset + req.length;
      // A section and a view that allow execution let protect() add EXEC later.
      // That needs FILE_EXECUTE access, which Node's file handles lack on
      // Windows: then a section of what the map asks for, which checks the
      // descriptor's access as mmap does (EACCES for a read-only one mapped RDWR).
      const sectionOf = (from: Ptr, exec: boolean): Ptr =>
        w.CreateFileMappingW(from, null, protection(req.writable, copy, exec), high(size), low(size), null);
      let section = sectionOf(file, true);
      let executable = section !== null;
      let reopened: Ptr = null; // our own handle with execute access, for EXEC file maps
      if (!executable) section = sectionOf(file, false);
      if (section === null) throw win32Error(GetLastError(), "CreateFileMappingW");
      if (!executable && req.exec) {
        // EXEC asked for: add execute access with a handle of our own, if the file's ACL grants it (as native does).
        w.CloseHandle(section);
        const want = GENERIC_READ | GENERIC_EXECUTE | (shared && req.writable ? GENERIC_WRITE : 0);
        reopened = w.ReOpenFile(file, want, FILE_SHARE_ALL, 0);
        if (reopened === null || reopened === INVALID_HANDLE_VALUE) throw win32Error(GetLastError(), "ReOpenFile");
        section = sectionOf(reopened, true);
        if (section === null) {
          const code = GetLastError();
          w.CloseHandle(reopened);
          throw win32Error(code, "CreateFileMappingW");
        }
        executable = true;
      }
      const access =
        (!req.writable ? FILE_MAP_READ : copy ? FILE_MAP_COPY : FILE_MAP_WRITE) | (executable ? FILE_MAP_EXECUTE : 0);
      const addr = w.MapViewOfFile(section, access, high(req.offset), low(req.offset), req.length);
      let error = addr === null ? GetLastError() : 0;
      w.CloseHandle(section); // the view keeps the section open
      if (addr === null) {
        if (reopened !== null) w.CloseHandle(reopened);
        throw win32Error(error, "MapViewOfFile");
      }
      if (executable && !req.exec && !w.VirtualProtect(addr, req.length, prot, [0])) {
        error = GetLastError();
        w.UnmapViewOfFile(addr);
        if (reopened !== null) w.CloseHandle(reopened);
        throw win32Error(error, "VirtualProtect");
      }
      if (req.populate) prefetch(addr, req.length);
      let dup: Ptr = null;
      if (reopened !== null) {
        // Our own handle serves FlushFileBuffers for shared maps; nothing else needs it.
        if (shared) dup = reopened;
        else w.CloseHandle(reopened);
      } else if (shared) {
        const out: Ptr[] = [null];
        if (!w.DuplicateHandle(self, file, self, out, 0, 0, DUPLICATE_SAME_ACCESS)) {
          const code = GetLastError();
          w.UnmapViewOfFile(addr);
          throw win32Error(code, "DuplicateHandle");
        }
        dup = out[0] ?? null;
      }
      return { addr, length: req.length, shared, copy, file: dup, live: true, released: false };
    },
    release(h: Handle): void {
      w.UnmapViewOfFile(h.addr);
      if (h.file !== null) w.CloseHandle(h.file);
    },
    openSection(how: SharedOpen, size: number): Section {
      const name = `Local\\${how.name}`;
      let section: Ptr;
      let created = false;
      if (how.create) {
        section = w.CreateNamedMapping(INVALID_HANDLE_VALUE, null, PAGE_READWRITE, high(size), low(size), name);
        if (section === null) throw win32Error(GetLastError(), "CreateFileMappingW");
        // An existing section of that name: its handle, and its own size.
        const existed = GetLastError() === ERROR_ALREADY_EXISTS;
        if (existed && how.exclusive) {
          w.CloseHandle(section);
          throw win32Error(ERROR_ALREADY_EXISTS, "CreateFileMappingW");
        }
        created = !existed;
      } else {
        section = w.OpenFileMappingW(FILE_MAP_READ | (how.writable ? FILE_MAP_WRITE : 0), 0, name);
        if (section === null) throw win32Error(GetLastError(), "OpenFileMappingW");
      }
      if (created) return { handle: section, size, created };
      // The size of a section is what one view of all of it spans (page-rounded).
      const whole = w.MapViewOfFile(section, FILE_MAP_READ, 0, 0, 0);
      const error = whole === null ? GetLastError() : 0;
      const actual = whole === null ? 0 : w.regionSize(whole);
      if (whole !== null) w.UnmapViewOfFile(whole);
      if (whole === null || actual === 0) {
        w.CloseHandle(section);
        throw win32Error(error || 87, "MapViewOfFile");
      }
      return { handle: section, size: actual, created };
    },
    mapSection(section: unknown, req: MapRequest): Handle {
      // RDONLY and COPY maps are private, so that a stray write never faults; nothing to flush either way.
      const copy = !req.shared;
      const addr = w.MapViewOfFile(section as Ptr, copy ? FILE_MAP_COPY : FILE_MAP_WRITE, 0, 0, req.length);
      if (addr === null) throw win32Error(GetLastError(), "MapViewOfFile");
      // A handle of the map's own, closed when it is released: Wine drops a section's name with its last handle.
      const out: Ptr[] = [null];
      if (!w.DuplicateHandle(self, section as Ptr, self, out, 0, 0, DUPLICATE_SAME_ACCESS)) {
        const code = GetLastError();
        w.UnmapViewOfFile(addr);
        throw win32Error(code, "DuplicateHandle");
      }
      // `shared` false: nothing to flush; `file` is only closed at release.
      return { addr, length: req.length, shared: false, copy, file: out[0] ?? null, live: true, released: false };
    },
    closeSection(section: unknown): void {
      w.CloseHandle(section as Ptr);
    },
    reserve() {
      // Extending a file on NTFS allocates its clusters: the API's ftruncate reports a full disk.
      throw systemError("EOPNOTSUPP", "SetFileInformationByHandle");
    },
    flush(h, offset, length) {
      check(w.FlushViewOfFile(at(h, offset), length), "FlushViewOfFile");
      if (h.file !== null) check(w.FlushFileBuffers(h.file), "FlushFileBuffers");
    },
    flushAsync(h, offset, length, done) {
      // koffi restores the worker's GetLastError() value for the duration of each callback.
      const fail = (error: unknown, syscall: string): Error =>
        error === null || error === undefined ? win32Error(GetLastError(), syscall) : systemError("EIO", syscall);
      w.FlushViewOfFile.async(at(h, offset), length, (error, ok) => {
        if (!ok || (error !== null && error !== undefined)) return done(fail(error, "FlushViewOfFile"));
        if (h.file === null) return done(undefined);
        w.FlushFileBuffers.async(h.file, (error2, ok2) => {
          done(!ok2 || (error2 !== null && error2 !== undefined) ? fail(error2, "FlushFileBuffers") : undefined);
        });
      });
    },
    lock(h, offset, length) {
      check(w.VirtualLock(at(h, offset), length), "VirtualLock");
    },
    unlock(h, offset, length) {
      // munlock succeeds on pages that are not locked; so does this.
      if (w.VirtualUnlock(at(h, offset), length)) return;
      const error = GetLastError();
      if (error !== ERROR_NOT_LOCKED) throw win32Error(error, "VirtualUnlock");
    },
    advise(h, offset, length, advice: Advice) {
      // Only "willneed" has a Windows counterpart; advice is a hint, so a failure is not reported.
      if (advice === "willneed") prefetch(at(h, offset), length);
    },
    protect(h, offset, length, writable, exec) {
      check(w.VirtualProtect(at(h, offset), length, protection(writable, h.copy, exec), [0]), "VirtualProtect");
    },
    residency(h, offset, length) {
      const count = Math.ceil(length / pageSize);
      const pages = new Uint8Array(count);
      const query = w.K32QueryWorkingSetEx;
      if (!query) return pages.fill(1);
      // PSAPI_WORKING_SET_EX_INFORMATION: { VirtualAddress, VirtualAttributes }, bit 0 of the attributes is Valid.
      if (wide) {
        const entries = new BigUint64Array(count * 2);
        const start = at(h, offset);
        for (let i = 0; i < count; i++) entries[i * 2] = start + BigInt(i * pageSize);
        check(query(self, entries, entries.byteLength), "QueryWorkingSetEx");
        for (let i = 0; i < count; i++) pages[i] = Number((entries[i * 2 + 1] ?? 0n) & 1n);
      } else {
        const entries = new Uint32Array(count * 2);
        const start = Number(at(h, offset));
        for (let i = 0; i < count; i++) entries[i * 2] = start + i * pageSize;
        check(query(self, entries, entries.byteLength), "QueryWorkingSetEx");
        for (let i = 0; i < count; i++) pages[i] = (entries[i * 2 + 1] ?? 0) & 1;
      }
      return pages;
    },
  };
}

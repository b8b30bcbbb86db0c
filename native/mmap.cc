// portable-mmap native backend: the system calls behind src/backends/native.
//
// JavaScript gets each mapping as an external ArrayBuffer over the mapped
// memory (zero copy) plus a handle: the address of a small `Region` record,
// as a number (heap addresses fit a double exactly). Calls report failure by
// returning a non-zero error code (errno, or GetLastError on Windows) and
// storing the index of the failing call (into `syscalls`) in `scratch[1]`;
// `map` returns the ArrayBuffer and stores the handle in `scratch[0]`, so the
// hot path allocates no JavaScript object besides the buffer.
//
// Lifetime of a Region: it is freed when the buffer's finalizer has run and
// no flushAsync is in flight. `unmap` releases the memory first, then
// detaches the buffer, and does not touch the Region afterwards (Bun and
// Deno run the finalizer inside the detach call, Node runs it later). If a
// flushAsync is in flight, the release waits for it; the buffer is still
// detached at once.

#ifndef _WIN32
#ifndef _FILE_OFFSET_BITS
#define _FILE_OFFSET_BITS 64
#endif
#endif

#ifdef _WIN32
#ifndef WIN32_LEAN_AND_MEAN
#define WIN32_LEAN_AND_MEAN
#endif
#ifndef PSAPI_VERSION
#define PSAPI_VERSION 2  // QueryWorkingSetEx is K32QueryWorkingSetEx in kernel32
#endif
#include <uv.h>
#include <windows.h>
#include <psapi.h>
#else
#include <errno.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>
#endif

#include <napi.h>

#ifndef _WIN32
static_assert(sizeof(off_t) == 8, "64-bit file offsets are required (_FILE_OFFSET_BITS=64)");
#endif

#include <cstdint>
#include <cstdlib>
#include <new>

namespace {

// Index of the failing call, reported in scratch[1]; names in kSyscalls.
enum Sys : int {
  kMmap,
  kMunmap,
  kMsync,
  kMlock,
  kMunlock,
  kMadvise,
  kMprotect,
  kMincore,
  kGetOsfhandle,
  kDuplicateHandle,
  kCreateFileMapping,
  kMapViewOfFile,
  kUnmapViewOfFile,
  kFlushViewOfFile,
  kFlushFileBuffers,
  kVirtualLock,
  kVirtualUnlock,
  kVirtualProtect,
  kPrefetchVirtualMemory,
  kQueryWorkingSetEx,
  kNapi,
  kFstat,
  kGetFileInformationByHandle,
  kReOpenFile,
  kSysCount
};

const char* const kSyscalls[kSysCount] = {
    "mmap",
    "munmap",
    "msync",
    "mlock",
    "munlock",
    "posix_madvise",
    "mprotect",
    "mincore",
    "uv_get_osfhandle",
    "DuplicateHandle",
    "CreateFileMappingW",
    "MapViewOfFile",
    "UnmapViewOfFile",
    "FlushViewOfFile",
    "FlushFileBuffers",
    "VirtualLock",
    "VirtualUnlock",
    "VirtualProtect",
    "PrefetchVirtualMemory",
    "QueryWorkingSetEx",
    "napi",
    "fstat",
    "GetFileInformationByHandle",
    "ReOpenFile",
};

// MapRequest bits, as packed by the TypeScript wrapper.
enum Flags : int32_t { kShared = 1, kWritable = 2, kExec = 4, kAnon = 8 };

#ifdef _WIN32
const int kNoMemory = ERROR_NOT_ENOUGH_MEMORY;
const int kInvalid = ERROR_INVALID_PARAMETER;
#else
const int kNoMemory = ENOMEM;
const int kInvalid = EINVAL;
#endif

struct Region {
  uint8_t* addr;
  size_t size;
  uint32_t pending;   // flushAsync jobs in flight
  int32_t flags;      // Flags of the request
  bool mapped;        // the memory is still mapped
  bool alive;         // the buffer's finalizer has not run yet
  bool unmapWanted;   // unmap() was called while jobs were in flight
#ifdef _WIN32
  HANDLE file;        // duplicated file handle, or nullptr (anonymous)
#endif
};

struct State {
  double* scratch;  // [handle, syscall index]
  napi_ref scratchRef;
};

size_t PageSize() {
#ifdef _WIN32
  SYSTEM_INFO info;
  GetSystemInfo(&info);
  return info.dwPageSize;
#else
  return static_cast<size_t>(sysconf(_SC_PAGESIZE));
#endif
}

size_t Granularity() {
#ifdef _WIN32
  SYSTEM_INFO info;
  GetSystemInfo(&info);
  return info.dwAllocationGranularity;
#else
  return PageSize();
#endif
}

inline int LastError() {
#ifdef _WIN32
  return static_cast<int>(GetLastError());
#else
  return errno;
#endif
}

#ifdef _WIN32
// The page protection for a section, a view or VirtualProtect; `copy` pages
// are copy-on-write.
DWORD Protection(bool writable, bool copy, bool exec) {
  if (!writable) return exec ? PAGE_EXECUTE_READ : PAGE_READONLY;
  if (copy) return exec ? PAGE_EXECUTE_WRITECOPY : PAGE_WRITECOPY;
  return exec ? PAGE_EXECUTE_READWRITE : PAGE_READWRITE;
}

// A section of `size` bytes over `file` (INVALID_HANDLE_VALUE: the paging file), or nullptr.
HANDLE CreateSection(HANDLE file, DWORD protection, uint64_t size) {
  return CreateFileMappingW(file, nullptr, protection, static_cast<DWORD>(size >> 32), static_cast<DWORD>(size),
                            nullptr);
}
#endif

// Unmaps the memory (and closes the file handle on Windows). 0 or an error code.
int Release(Region* r) {
#ifdef _WIN32
  if (!UnmapViewOfFile(r->addr)) return LastError();
  if (r->file != nullptr) CloseHandle(r->file);
  r->file = nullptr;
#else
  if (munmap(r->addr, r->size) != 0) return LastError();
#endif
  r->mapped = false;
  return 0;
}

void MaybeFree(Region* r) {
  if (r->alive || r->pending != 0) return;
  if (r->mapped) Release(r);
  delete r;
}

void FinalizeRegion(napi_env /*env*/, void* /*data*/, void* hint) {
  Region* r = static_cast<Region*>(hint);
  r->alive = false;
  MaybeFree(r);
}

inline State* StateOf(const Napi::CallbackInfo& info) { return static_cast<State*>(info.Data()); }

inline Region* RegionOf(const Napi::Value& v) {
  return reinterpret_cast<Region*>(static_cast<uintptr_t>(v.As<Napi::Number>().Int64Value()));
}

inline int64_t Int64(const Napi::Value& v) { return v.As<Napi::Number>().Int64Value(); }

inline Napi::Value Result(const Napi::CallbackInfo& info, int code, Sys sys) {
  if (code != 0) StateOf(info)->scratch[1] = sys;
  return Napi::Number::New(info.Env(), code);
}

inline Napi::Value SizeError(const Napi::CallbackInfo& info, int code, Sys sys) {
  State* state = StateOf(info);
  state->scratch[0] = code;
  state->scratch[1] = sys;
  return Napi::Number::New(info.Env(), -2);
}

// A range [addr + offset, + length) of a region, from arguments (handle, offset, length).
struct Range {
  Region* region;
  uint8_t* addr;
  size_t length;
};

inline Range RangeOf(const Napi::CallbackInfo& info) {
  Region* r = RegionOf(info[0]);
  return {r, r->addr + Int64(info[1]), static_cast<size_t>(Int64(info[2]))};
}

#ifndef _WIN32
#if defined(__GLIBC__) && defined(STATX_TYPE) && defined(AT_EMPTY_PATH)
#define PORTABLE_MMAP_STATX 1
// statx, not fstat, on glibc: since glibc 2.33 fstat is a symbol of its own
// (fstat64@GLIBC_2.33), which would keep a binary built on a current system
// from loading on older ones; statx is there from glibc 2.28, as old as the
// oldest glibc Node 20 runs on. Errors are reported as fstat's, as the API does.
int StatSize(int fd, bool* regular, double* size) {
  struct statx about;
  if (statx(fd, "", AT_EMPTY_PATH, STATX_TYPE | STATX_SIZE, &about) != 0) return errno;
  *regular = S_ISREG(about.stx_mode);
  *size = static_cast<double>(about.stx_size);
  return 0;
}

// Whether statx works here: a seccomp filter (old container runtimes) may
// refuse it with EPERM, or an old kernel with ENOSYS. Then the addon exports
// no fileSize and the API uses Node's fstat.
bool StatxUsable() {
  struct statx about;
  if (statx(AT_FDCWD, "", AT_EMPTY_PATH, STATX_TYPE, &about) == 0) return true;
  return errno != ENOSYS && errno != EPERM;
}
#else
int StatSize(int fd, bool* regular, double* size) {
  struct stat about;
  if (fstat(fd, &about) != 0) return errno;
  *regular = S_ISREG(about.st_mode);
  *size = static_cast<double>(about.st_size);
  return 0;
}
#endif
#endif  // !_WIN32

// fileSize(fd): the size of a regular file, -1 for anything else, or -2 on
// failure with the error code in scratch[0] (the API's fast path for fstat).
Napi::Value FileSize(const Napi::CallbackInfo& info) {
  int fd = info[0].As<Napi::Number>().Int32Value();
  double size;
#ifdef _WIN32
  HANDLE file = reinterpret_cast<HANDLE>(uv_get_osfhandle(fd));
  if (file == INVALID_HANDLE_VALUE) return SizeError(info, ERROR_INVALID_HANDLE, kGetOsfhandle);
  BY_HANDLE_FILE_INFORMATION about;
  if (GetFileType(file) != FILE_TYPE_DISK) return Napi::Number::New(info.Env(), -1);
  if (!GetFileInformationByHandle(file, &about)) return SizeError(info, LastError(), kGetFileInformationByHandle);
  if (about.dwFileAttributes & FILE_ATTRIBUTE_DIRECTORY) return Napi::Number::New(info.Env(), -1);
  size = static_cast<double>((static_cast<uint64_t>(about.nFileSizeHigh) << 32) | about.nFileSizeLow);
#else
  bool regular = false;
  int code = StatSize(fd, &regular, &size);
  if (code != 0) return SizeError(info, code, kFstat);
  if (!regular) return Napi::Number::New(info.Env(), -1);
#endif
  return Napi::Number::New(info.Env(), size);
}

// map(fd, offset, length, flags): ArrayBuffer, or an error code.
Napi::Value Map(const Napi::CallbackInfo& info) {
  napi_env env = info.Env();
  int fd = info[0].As<Napi::Number>().Int32Value();
  int64_t offset = Int64(info[1]);
  size_t length = static_cast<size_t>(Int64(info[2]));
  int32_t flags = info[3].As<Napi::Number>().Int32Value();
  bool shared = flags & kShared, writable = flags & kWritable, exec = flags & kExec, anon = flags & kAnon;

#ifdef _WIN32
  // Sections and views are made to allow execution where the handle permits
  // (anonymous sections always do), so that `protect` can add EXEC later, and
  // are then lowered with VirtualProtect to what was asked for. Copy-on-write
  // sections are writable even for read-only maps, so `protect` can raise them.
  bool copy = !shared && !anon;
  bool sectionWritable = writable || copy;
  uint64_t end = anon ? length : static_cast<uint64_t>(offset) + length;
  HANDLE file = nullptr;  // our own handle of the file
  HANDLE section = nullptr;
  bool executable = true;
  if (anon) {
    section = CreateSection(INVALID_HANDLE_VALUE, Protection(sectionWritable, false, true), end);
    if (section == nullptr) return Result(info, LastError(), kCreateFileMapping);
  } else {
    HANDLE original = reinterpret_cast<HANDLE>(uv_get_osfhandle(fd));
    if (original == INVALID_HANDLE_VALUE) return Result(info, ERROR_INVALID_HANDLE, kGetOsfhandle);
    HANDLE self = GetCurrentProcess();
    if (!DuplicateHandle(self, original, self, &file, 0, FALSE, DUPLICATE_SAME_ACCESS))
      return Result(info, LastError(), kDuplicateHandle);
    // An executable section needs FILE_EXECUTE access, which the handles of
    // descriptors Node opens lack: then a section of what the caller asked for,
    // which checks the descriptor's access as mmap does (a read-only
    // descriptor mapped RDWR is ERROR_ACCESS_DENIED, so EACCES).
    section = CreateSection(file, Protection(sectionWritable, copy, true), end);
    if (section == nullptr) {
      executable = false;
      section = CreateSection(file, Protection(sectionWritable, copy, false), end);
      if (section == nullptr) {
        int code = LastError();
        CloseHandle(file);
        return Result(info, code, kCreateFileMapping);
      }
    }
    if (!executable && exec) {
      // EXEC asked for: the plain section proved read (and write) access; add
      // execute access with a handle of our own, if the file's ACL grants it.
      DWORD want = GENERIC_READ | GENERIC_EXECUTE | (shared && writable ? GENERIC_WRITE : 0);
      HANDLE again = ReOpenFile(original, want, FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE, 0);
      int code = again == INVALID_HANDLE_VALUE ? LastError() : 0;
      CloseHandle(section);
      CloseHandle(file);
      if (code != 0) return Result(info, code, kReOpenFile);
      file = again;
      executable = true;
      section = CreateSection(file, Protection(sectionWritable, copy, true), end);
      if (section == nullptr) {
        code = LastError();
        CloseHandle(file);
        return Result(info, code, kCreateFileMapping);
      }
    }
  }
  DWORD access = copy ? FILE_MAP_COPY : writable ? FILE_MAP_WRITE : FILE_MAP_READ;
  if (executable) access |= FILE_MAP_EXECUTE;
  uint64_t at = anon ? 0 : static_cast<uint64_t>(offset);
  void* p = MapViewOfFile(section, access, static_cast<DWORD>(at >> 32), static_cast<DWORD>(at), length);
  int code = p == nullptr ? LastError() : 0;
  CloseHandle(section);  // the view keeps the section alive
  if (p == nullptr) {
    if (file != nullptr) CloseHandle(file);
    return Result(info, code, kMapViewOfFile);
  }
  if ((executable && !exec) || sectionWritable != writable) {
    DWORD old;
    if (!VirtualProtect(p, length, Protection(writable, copy, exec), &old)) {
      code = LastError();
      UnmapViewOfFile(p);
      if (file != nullptr) CloseHandle(file);
      return Result(info, code, kVirtualProtect);
    }
  }
  // Only a writable shared file map has anything for FlushFileBuffers to do,
  // and it fails on a read-only handle: keep the handle for those alone.
  if (file != nullptr && !(shared && writable)) {
    CloseHandle(file);
    file = nullptr;
  }
#else
  int prot = PROT_READ | (writable ? PROT_WRITE : 0) | (exec ? PROT_EXEC : 0);
  int mflags = shared ? MAP_SHARED : MAP_PRIVATE;
  if (anon) {
#ifdef MAP_ANONYMOUS
    mflags |= MAP_ANONYMOUS;
#else
    mflags |= MAP_ANON;
#endif
    fd = -1;
    offset = 0;
  } else if (!shared) {
#ifdef MAP_NORESERVE
    mflags |= MAP_NORESERVE;
#endif
  }
  void* p = mmap(nullptr, length, prot, mflags, fd, static_cast<off_t>(offset));
  if (p == MAP_FAILED) return Result(info, LastError(), kMmap);
#endif

  Region* r = new (std::nothrow) Region{static_cast<uint8_t*>(p), length, 0, flags, true, true, false
#ifdef _WIN32
                                        , file
#endif
  };
  napi_value buffer;
  napi_status status = r == nullptr ? napi_generic_failure
                                    : napi_create_external_arraybuffer(env, p, length, FinalizeRegion, r, &buffer);
  if (status != napi_ok) {
    if (r != nullptr) {
      Release(r);
      delete r;
    } else {
#ifdef _WIN32
      UnmapViewOfFile(p);
      if (file != nullptr) CloseHandle(file);
#else
      munmap(p, length);
#endif
    }
    bool pending = false;
    napi_is_exception_pending(env, &pending);
    if (pending) return Napi::Value();
    return Result(info, kNoMemory, kNapi);
  }
  StateOf(info)->scratch[0] = static_cast<double>(reinterpret_cast<uintptr_t>(r));
  return Napi::Value(env, buffer);
}

// unmap(handle, buffer): 0 or an error code.
Napi::Value Unmap(const Napi::CallbackInfo& info) {
  Region* r = RegionOf(info[0]);
  // `mapped` guards a retry after a failed detach: the range may belong to someone else by then.
  if (r->pending == 0 && r->mapped) {
    int code = Release(r);
#ifdef _WIN32
    if (code != 0) return Result(info, code, kUnmapViewOfFile);
#else
    if (code != 0) return Result(info, code, kMunmap);
#endif
  } else {
    r->unmapWanted = true;  // the last flushAsync job releases the memory
  }
  // From here on `r` may be freed (by the finalizer, inside this call).
  if (napi_detach_arraybuffer(info.Env(), info[1]) != napi_ok) return Result(info, kInvalid, kNapi);
  return Napi::Number::New(info.Env(), 0);
}

// Writes the range to the file and waits for the device. On Windows `file` is
// the handle of a writable shared file map, else nullptr: nothing to write.
int FlushRange(uint8_t* addr, size_t length, Sys* sys, void* file) {
#ifdef _WIN32
  *sys = kFlushViewOfFile;
  if (file == nullptr) return 0;
  if (!FlushViewOfFile(addr, length)) return LastError();
  *sys = kFlushFileBuffers;
  if (file != nullptr && !FlushFileBuffers(static_cast<HANDLE>(file))) return LastError();
  return 0;
#else
  (void)file;
  *sys = kMsync;
  return msync(addr, length, MS_SYNC) == 0 ? 0 : LastError();
#endif
}

inline void* FileOf(Region* r) {
#ifdef _WIN32
  return r->file;
#else
  (void)r;
  return nullptr;
#endif
}

// flush(handle, offset, length): 0 or an error code.
Napi::Value Flush(const Napi::CallbackInfo& info) {
  Range range = RangeOf(info);
  Sys sys;
  int code = FlushRange(range.addr, range.length, &sys, FileOf(range.region));
  return Result(info, code, sys);
}

struct FlushJob {
  napi_async_work work;
  napi_deferred deferred;
  Region* region;
  uint8_t* addr;
  size_t length;
  void* file;
  int code;
  Sys sys;
};

void FlushExecute(napi_env /*env*/, void* data) {
  FlushJob* job = static_cast<FlushJob*>(data);
  job->code = FlushRange(job->addr, job->length, &job->sys, job->file);
}

void FlushComplete(napi_env env, napi_status status, void* data) {
  FlushJob* job = static_cast<FlushJob*>(data);
  Region* r = job->region;
  if (--r->pending == 0 && r->unmapWanted && r->mapped) Release(r);
  MaybeFree(r);
  if (status != napi_ok && job->code == 0) {
    job->code = kInvalid;
    job->sys = kNapi;
  }
  if (job->code == 0) {
    napi_value undefined;
    napi_get_undefined(env, &undefined);
    napi_resolve_deferred(env, job->deferred, undefined);
  } else {
    napi_value reason, code, sys;
    napi_create_array_with_length(env, 2, &reason);
    napi_create_int32(env, job->code, &code);
    napi_create_int32(env, job->sys, &sys);
    napi_set_element(env, reason, 0, code);
    napi_set_element(env, reason, 1, sys);
    napi_reject_deferred(env, job->deferred, reason);
  }
  napi_delete_async_work(env, job->work);
  delete job;
}

// flushAsync(handle, offset, length): a Promise that rejects with [code, syscall index],
// or an error code.
Napi::Value FlushAsync(const Napi::CallbackInfo& info) {
  napi_env env = info.Env();
  Range range = RangeOf(info);
  FlushJob* job = new (std::nothrow) FlushJob{nullptr, nullptr, range.region, range.addr, range.length,
                                              FileOf(range.region), 0, kMsync};
  if (job == nullptr) return Result(info, kNoMemory, kNapi);
  napi_value promise, name;
  if (napi_create_promise(env, &job->deferred, &promise) != napi_ok) {
    delete job;
    return Result(info, kNoMemory, kNapi);
  }
  if (napi_create_string_utf8(env, "portable-mmap:flush", NAPI_AUTO_LENGTH, &name) != napi_ok ||
      napi_create_async_work(env, nullptr, name, FlushExecute, FlushComplete, job, &job->work) != napi_ok) {
    // The deferred stays unresolved; the promise is dropped.
    delete job;
    return Result(info, kNoMemory, kNapi);
  }
  if (napi_queue_async_work(env, job->work) != napi_ok) {
    napi_delete_async_work(env, job->work);
    delete job;
    return Result(info, kNoMemory, kNapi);
  }
  range.region->pending++;
  return Napi::Value(env, promise);
}

// lock(handle, offset, length), unlock(...): 0 or an error code.
Napi::Value Lock(const Napi::CallbackInfo& info) {
  Range range = RangeOf(info);
#ifdef _WIN32
  int code = VirtualLock(range.addr, range.length) ? 0 : LastError();
  return Result(info, code, kVirtualLock);
#else
  int code = mlock(range.addr, range.length) == 0 ? 0 : LastError();
  return Result(info, code, kMlock);
#endif
}

Napi::Value Unlock(const Napi::CallbackInfo& info) {
  Range range = RangeOf(info);
#ifdef _WIN32
  int code = VirtualUnlock(range.addr, range.length) ? 0 : LastError();
  if (code == ERROR_NOT_LOCKED) code = 0;  // as munlock: unlocking unlocked pages is fine
  return Result(info, code, kVirtualUnlock);
#else
  int code = munlock(range.addr, range.length) == 0 ? 0 : LastError();
  return Result(info, code, kMunlock);
#endif
}

#ifdef _WIN32
struct PrefetchEntry {
  PVOID VirtualAddress;
  SIZE_T NumberOfBytes;
};
typedef BOOL(WINAPI* PrefetchFn)(HANDLE, ULONG_PTR, PrefetchEntry*, ULONG);

PrefetchFn Prefetch() {
  static PrefetchFn fn = reinterpret_cast<PrefetchFn>(
      reinterpret_cast<void*>(GetProcAddress(GetModuleHandleW(L"kernel32.dll"), "PrefetchVirtualMemory")));
  return fn;
}
#endif

// advise(handle, offset, length, advice): advice 0..4 is normal, random,
// sequential, willneed, dontneed. Only hints that never change contents.
Napi::Value Advise(const Napi::CallbackInfo& info) {
  Range range = RangeOf(info);
  int advice = info[3].As<Napi::Number>().Int32Value();
#ifdef _WIN32
  if (advice != 3) return Napi::Number::New(info.Env(), 0);
  PrefetchFn prefetch = Prefetch();
  if (prefetch == nullptr) return Napi::Number::New(info.Env(), 0);
  PrefetchEntry entry = {range.addr, range.length};
  int code = prefetch(GetCurrentProcess(), 1, &entry, 0) ? 0 : LastError();
  return Result(info, code, kPrefetchVirtualMemory);
#else
  // POSIX_MADV_DONTNEED, unlike Linux's MADV_DONTNEED, never discards data.
  static const int kAdvice[5] = {POSIX_MADV_NORMAL, POSIX_MADV_RANDOM, POSIX_MADV_SEQUENTIAL,
                                 POSIX_MADV_WILLNEED, POSIX_MADV_DONTNEED};
  if (advice < 0 || advice > 4) return Result(info, EINVAL, kMadvise);
  int code = posix_madvise(range.addr, range.length, kAdvice[advice]);
  return Result(info, code, kMadvise);
#endif
}

// protect(handle, offset, length, flags): kWritable and kExec bits. 0 or an error code.
Napi::Value Protect(const Napi::CallbackInfo& info) {
  Range range = RangeOf(info);
  int32_t flags = info[3].As<Napi::Number>().Int32Value();
  bool writable = flags & kWritable, exec = flags & kExec;
#ifdef _WIN32
  bool copy = !(range.region->flags & (kShared | kAnon));
  DWORD old;
  int code = VirtualProtect(range.addr, range.length, Protection(writable, copy, exec), &old) ? 0 : LastError();
  return Result(info, code, kVirtualProtect);
#else
  int prot = PROT_READ | (writable ? PROT_WRITE : 0) | (exec ? PROT_EXEC : 0);
  int code = mprotect(range.addr, range.length, prot) == 0 ? 0 : LastError();
  return Result(info, code, kMprotect);
#endif
}

// residency(handle, offset, length, out: Uint8Array of one byte per page): 0 or an error code.
Napi::Value Residency(const Napi::CallbackInfo& info) {
  Range range = RangeOf(info);
  uint8_t* out = info[3].As<Napi::Uint8Array>().Data();
#ifdef _WIN32
  size_t page = PageSize();
  size_t pages = (range.length + page - 1) / page;
  PSAPI_WORKING_SET_EX_INFORMATION batch[256];
  for (size_t done = 0; done < pages;) {
    size_t n = pages - done < 256 ? pages - done : 256;
    for (size_t i = 0; i < n; i++) batch[i].VirtualAddress = range.addr + (done + i) * page;
    if (!QueryWorkingSetEx(GetCurrentProcess(), batch, static_cast<DWORD>(n * sizeof(batch[0]))))
      return Result(info, LastError(), kQueryWorkingSetEx);
    for (size_t i = 0; i < n; i++) out[done + i] = batch[i].VirtualAttributes.Valid ? 1 : 0;
    done += n;
  }
  return Napi::Number::New(info.Env(), 0);
#else
#if defined(__linux__)
  unsigned char* vec = out;
#else
  char* vec = reinterpret_cast<char*>(out);
#endif
  int code = mincore(range.addr, range.length, vec) == 0 ? 0 : LastError();
  return Result(info, code, kMincore);
#endif
}

// detach(buffer): detaches any ArrayBuffer (for runtimes without ArrayBuffer.prototype.transfer).
Napi::Value Detach(const Napi::CallbackInfo& info) {
  napi_status status = napi_detach_arraybuffer(info.Env(), info[0]);
  if (status != napi_ok) {
    Napi::TypeError::New(info.Env(), "napi_detach_arraybuffer failed").ThrowAsJavaScriptException();
  }
  return info.Env().Undefined();
}

#ifndef _WIN32
double NowNs() {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<double>(ts.tv_sec) * 1e9 + static_cast<double>(ts.tv_nsec);
}
#endif

// Benchmark support (bench/map-cycle.mjs): the least any Node-API backend can
// cost. floorCycles(fd, cycles) runs, all in C, `cycles` times: map 4 KiB of
// fd (as mapRegion with RDONLY does), wrap it in an external ArrayBuffer, read
// one byte, unmap, detach. Returns ns per cycle, or -1 where not supported.
Napi::Value FloorCycles(const Napi::CallbackInfo& info) {
  napi_env env = info.Env();
#ifdef _WIN32
  return Napi::Number::New(env, -1);
#else
  int fd = info[0].As<Napi::Number>().Int32Value();
  int32_t cycles = info[1].As<Napi::Number>().Int32Value();
  int flags = MAP_PRIVATE;
#ifdef MAP_NORESERVE
  flags |= MAP_NORESERVE;
#endif
  volatile unsigned sink = 0;
  double start = NowNs();
  for (int32_t i = 0; i < cycles; i++) {
    napi_handle_scope scope;
    napi_open_handle_scope(env, &scope);
    void* p = mmap(nullptr, 4096, PROT_READ | PROT_WRITE, flags, fd, 0);
    if (p == MAP_FAILED) {
      napi_close_handle_scope(env, scope);
      return Napi::Number::New(env, -1);
    }
    Region* r = new Region{static_cast<uint8_t*>(p), 4096, 0, kWritable, true, true, false};
    napi_value buffer;
    if (napi_create_external_arraybuffer(env, p, 4096, FinalizeRegion, r, &buffer) != napi_ok) {
      Release(r);
      delete r;
      napi_close_handle_scope(env, scope);
      return Napi::Number::New(env, -1);
    }
    sink += *static_cast<volatile uint8_t*>(p);
    Release(r);
    napi_detach_arraybuffer(env, buffer);
    napi_close_handle_scope(env, scope);
  }
  return Napi::Number::New(env, (NowNs() - start) / cycles);
#endif
}

void NoopFinalize(napi_env /*env*/, void* data, void* /*hint*/) { std::free(data); }

// napi_ok, or why the runtime refuses external ArrayBuffers (for example
// napi_no_external_buffers_allowed inside Electron's memory cage).
int ProbeExternalBuffers(napi_env env) {
  void* byte = std::malloc(1);
  if (byte == nullptr) return napi_generic_failure;
  napi_value buffer;
  napi_status status = napi_create_external_arraybuffer(env, byte, 1, NoopFinalize, nullptr, &buffer);
  if (status != napi_ok) {
    std::free(byte);
    bool pending = false;
    napi_is_exception_pending(env, &pending);
    if (pending) {
      napi_value ignored;
      napi_get_and_clear_last_exception(env, &ignored);
    }
    return status;
  }
  napi_detach_arraybuffer(env, buffer);
  return napi_ok;
}

void FreeState(napi_env env, void* data, void* /*hint*/) {
  State* state = static_cast<State*>(data);
  napi_delete_reference(env, state->scratchRef);
  delete state;
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  State* state = new State{nullptr, nullptr};
  napi_value scratchBuffer;
  void* scratchData;
  napi_create_arraybuffer(env, 2 * sizeof(double), &scratchData, &scratchBuffer);
  napi_create_reference(env, scratchBuffer, 1, &state->scratchRef);
  state->scratch = static_cast<double*>(scratchData);
  napi_set_instance_data(env, state, FreeState, nullptr);

  Napi::Array syscalls = Napi::Array::New(env, kSysCount);
  for (uint32_t i = 0; i < kSysCount; i++) syscalls.Set(i, kSyscalls[i]);

  exports.Set("scratch", Napi::Float64Array::New(env, 2, Napi::ArrayBuffer(env, scratchBuffer), 0));
  exports.Set("syscalls", syscalls);
  exports.Set("pageSize", Napi::Number::New(env, static_cast<double>(PageSize())));
  exports.Set("allocationGranularity", Napi::Number::New(env, static_cast<double>(Granularity())));
  exports.Set("externalBuffers", Napi::Number::New(env, ProbeExternalBuffers(env)));
#ifdef _WIN32
  exports.Set("windows", Napi::Boolean::New(env, true));
#else
  exports.Set("windows", Napi::Boolean::New(env, false));
#endif
  struct Entry {
    const char* name;
    Napi::Value (*fn)(const Napi::CallbackInfo&);
  };
  const Entry entries[] = {{"map", Map},       {"unmap", Unmap},   {"flush", Flush},
                           {"flushAsync", FlushAsync}, {"lock", Lock}, {"unlock", Unlock},
                           {"advise", Advise}, {"protect", Protect}, {"residency", Residency},
                           {"detach", Detach}, {"floorCycles", FloorCycles}};
  for (const Entry& e : entries) exports.Set(e.name, Napi::Function::New(env, e.fn, e.name, state));
#ifdef PORTABLE_MMAP_STATX
  if (StatxUsable())
#endif
    exports.Set("fileSize", Napi::Function::New(env, FileSize, "fileSize", state));
  return exports;
}

}  // namespace

NODE_API_MODULE(portable_mmap, Init)

// The native backend's system calls on Windows: sections and views.
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

#include "sys.h"

namespace pmm {

namespace {

// The page protection for a section, a view or VirtualProtect; `copy` pages are copy-on-write.
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

int LastError() { return static_cast<int>(GetLastError()); }

SYSTEM_INFO SystemInfo() {
  SYSTEM_INFO info;
  GetSystemInfo(&info);
  return info;
}

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

}  // namespace

size_t PageSize() { return SystemInfo().dwPageSize; }
size_t Granularity() { return SystemInfo().dwAllocationGranularity; }
int NoMemory() { return ERROR_NOT_ENOUGH_MEMORY; }
int Invalid() { return ERROR_INVALID_PARAMETER; }
int Busy() { return ERROR_BUSY; }

int Map(int fd, int64_t offset, size_t length, int32_t flags, Mapping* out, Sys* sys) {
  bool shared = flags & kShared, writable = flags & kWritable, exec = flags & kExec, anon = flags & kAnon;
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
  int code = 0;
  if (anon) {
    section = CreateSection(INVALID_HANDLE_VALUE, Protection(sectionWritable, false, true), end);
    if (section == nullptr) {
      *sys = kCreateFileMapping;
      return LastError();
    }
  } else {
    HANDLE original = reinterpret_cast<HANDLE>(uv_get_osfhandle(fd));
    if (original == INVALID_HANDLE_VALUE) {
      *sys = kGetOsfhandle;
      return ERROR_INVALID_HANDLE;
    }
    HANDLE self = GetCurrentProcess();
    if (!DuplicateHandle(self, original, self, &file, 0, FALSE, DUPLICATE_SAME_ACCESS)) {
      *sys = kDuplicateHandle;
      return LastError();
    }
    // An executable section needs FILE_EXECUTE access, which the handles of
    // descriptors Node opens lack: then a section of what the caller asked for,
    // which checks the descriptor's access as mmap does (a read-only
    // descriptor mapped RDWR is ERROR_ACCESS_DENIED, so EACCES).
    section = CreateSection(file, Protection(sectionWritable, copy, true), end);
    if (section == nullptr) {
      executable = false;
      section = CreateSection(file, Protection(sectionWritable, copy, false), end);
      if (section == nullptr) {
        code = LastError();
        CloseHandle(file);
        *sys = kCreateFileMapping;
        return code;
      }
    }
    if (!executable && exec) {
      // EXEC asked for: the plain section proved read (and write) access; add
      // execute access with a handle of our own, if the file's ACL grants it.
      DWORD want = GENERIC_READ | GENERIC_EXECUTE | (shared && writable ? GENERIC_WRITE : 0);
      HANDLE again = ReOpenFile(original, want, FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE, 0);
      code = again == INVALID_HANDLE_VALUE ? LastError() : 0;
      CloseHandle(section);
      CloseHandle(file);
      if (code != 0) {
        *sys = kReOpenFile;
        return code;
      }
      file = again;
      executable = true;
      section = CreateSection(file, Protection(sectionWritable, copy, true), end);
      if (section == nullptr) {
        code = LastError();
        CloseHandle(file);
        *sys = kCreateFileMapping;
        return code;
      }
    }
  }
  DWORD access = copy ? FILE_MAP_COPY : writable ? FILE_MAP_WRITE : FILE_MAP_READ;
  if (executable) access |= FILE_MAP_EXECUTE;
  uint64_t at = anon ? 0 : static_cast<uint64_t>(offset);
  win::View view;
  code = static_cast<int>(win::MapView(section, at, length, win::ProtectionOf(access), &view));
  CloseHandle(section);  // the view keeps the section alive
  if (code != 0) {
    if (file != nullptr) CloseHandle(file);
    *sys = kMapViewOfFile;
    return code;
  }
  void* p = view.addr;
  if ((executable && !exec) || sectionWritable != writable) {
    DWORD old;
    if (!VirtualProtect(p, length, Protection(writable, copy, exec), &old)) {
      code = LastError();
      win::ReleaseView(&view);
      if (file != nullptr) CloseHandle(file);
      *sys = kVirtualProtect;
      return code;
    }
  }
  if (flags & kPopulate) {
    // Reads the pages into memory with large I/O requests. A hint: where
    // kernel32 lacks it (before Windows 8) or it fails, the map stands.
    PrefetchFn prefetch = Prefetch();
    if (prefetch != nullptr) {
      PrefetchEntry entry = {p, length};
      prefetch(GetCurrentProcess(), 1, &entry, 0);
    }
  }
  // Only a writable shared file map has anything for FlushFileBuffers to do,
  // and it fails on a read-only handle: keep the handle for those alone.
  if (file != nullptr && !(shared && writable)) {
    CloseHandle(file);
    file = nullptr;
  }
  *out = Mapping{static_cast<uint8_t*>(p), length, flags, file, view, nullptr};
  return 0;
}

int Retire(Mapping* m, Sys* /*sys*/) {
  // In a placeholder the view is replaced by zero pages without the range
  // being free in between. Without one a view cannot be replaced in one step
  // (another thread could take the range between UnmapViewOfFile and a new
  // allocation, and a stale view would then write into someone else's
  // memory), so it stays mapped until it is released.
  win::RetireView(&m->view);
  // Unmapped: this map holds the name no more (a view it keeps, it keeps without the name).
  if (m->named != nullptr) CloseHandle(m->named);
  m->named = nullptr;
  if (m->view.state == win::kViewKept) return kKeptMapped;
  // The file handle only served FlushFileBuffers, which has nothing left to do.
  if (m->file != nullptr) CloseHandle(m->file);
  m->file = nullptr;
  return kRetiredInPlace;
}

void Release(Mapping* m) {
  win::ReleaseView(&m->view);
  if (m->named != nullptr) CloseHandle(m->named);
  m->named = nullptr;
  if (m->file != nullptr) CloseHandle(m->file);
  m->file = nullptr;
}

// Windows cannot move a view's pages to another address: the caller copies.
int Move(const Mapping& /*old*/, size_t /*size*/, Mapping* /*out*/, Sys* sys) {
  *sys = kMremap;
  return ERROR_CALL_NOT_IMPLEMENTED;
}

void MoveBack(const Mapping& /*old*/, const Mapping& /*moved*/) {}

int Flush(const Mapping& m, uint8_t* addr, size_t length, Sys* sys) {
  // Only a writable shared file map keeps a file handle: nothing to write otherwise.
  *sys = kFlushViewOfFile;
  if (m.file == nullptr) return 0;
  if (!FlushViewOfFile(addr, length)) return LastError();
  *sys = kFlushFileBuffers;
  if (!FlushFileBuffers(static_cast<HANDLE>(m.file))) return LastError();
  return 0;
}

int Lock(uint8_t* addr, size_t length, Sys* sys) {
  *sys = kVirtualLock;
  return VirtualLock(addr, length) ? 0 : LastError();
}

int Unlock(uint8_t* addr, size_t length, Sys* sys) {
  *sys = kVirtualUnlock;
  if (VirtualUnlock(addr, length)) return 0;
  int code = LastError();
  return code == ERROR_NOT_LOCKED ? 0 : code;  // as munlock: unlocking unlocked pages is fine
}

int Advise(uint8_t* addr, size_t length, int advice, Sys* sys) {
  // Only "willneed" has a Windows counterpart.
  *sys = kPrefetchVirtualMemory;
  if (advice != 3) return 0;
  PrefetchFn prefetch = Prefetch();
  if (prefetch == nullptr) return 0;
  PrefetchEntry entry = {addr, length};
  return prefetch(GetCurrentProcess(), 1, &entry, 0) ? 0 : LastError();
}

int Protect(const Mapping& m, uint8_t* addr, size_t length, bool writable, bool exec, Sys* sys) {
  bool copy = !(m.flags & (kShared | kAnon));
  DWORD old;
  *sys = kVirtualProtect;
  return VirtualProtect(addr, length, Protection(writable, copy, exec), &old) ? 0 : LastError();
}

int Residency(uint8_t* addr, size_t length, uint8_t* out, Sys* sys) {
  size_t page = PageSize();
  size_t pages = (length + page - 1) / page;
  PSAPI_WORKING_SET_EX_INFORMATION batch[256];
  *sys = kQueryWorkingSetEx;
  for (size_t done = 0; done < pages;) {
    size_t n = pages - done < 256 ? pages - done : 256;
    for (size_t i = 0; i < n; i++) batch[i].VirtualAddress = addr + (done + i) * page;
    if (!QueryWorkingSetEx(GetCurrentProcess(), batch, static_cast<DWORD>(n * sizeof(batch[0])))) return LastError();
    for (size_t i = 0; i < n; i++) out[done + i] = batch[i].VirtualAttributes.Valid ? 1 : 0;
    done += n;
  }
  return 0;
}

int FileSize(int fd, double* size, Sys* sys) {
  HANDLE file = reinterpret_cast<HANDLE>(uv_get_osfhandle(fd));
  *sys = kGetOsfhandle;
  if (file == INVALID_HANDLE_VALUE) return ERROR_INVALID_HANDLE;
  BY_HANDLE_FILE_INFORMATION about;
  *size = -1;
  if (GetFileType(file) != FILE_TYPE_DISK) return 0;
  *sys = kGetFileInformationByHandle;
  if (!GetFileInformationByHandle(file, &about)) return LastError();
  if (about.dwFileAttributes & FILE_ATTRIBUTE_DIRECTORY) return 0;
  *size = static_cast<double>((static_cast<uint64_t>(about.nFileSizeHigh) << 32) | about.nFileSizeLow);
  return 0;
}

bool FileSizeUsable() { return true; }

int Reserve(int fd, int64_t offset, int64_t length, Sys* sys) {
  // Setting the allocation size makes NTFS allocate the clusters now (a full
  // disk is ERROR_DISK_FULL here, not a failed write later); then the end of file.
  HANDLE file = reinterpret_cast<HANDLE>(uv_get_osfhandle(fd));
  *sys = kGetOsfhandle;
  if (file == INVALID_HANDLE_VALUE) return ERROR_INVALID_HANDLE;
  *sys = kFallocate;
  FILE_ALLOCATION_INFO allocation;
  allocation.AllocationSize.QuadPart = offset + length;
  if (!SetFileInformationByHandle(file, FileAllocationInfo, &allocation, sizeof(allocation))) return LastError();
  FILE_END_OF_FILE_INFO eof;
  eof.EndOfFile.QuadPart = offset + length;
  if (!SetFileInformationByHandle(file, FileEndOfFileInfo, &eof, sizeof(eof))) return LastError();
  return 0;
}

int OpenSection(const wchar_t* name, bool create, bool exclusive, bool writable, uint64_t size, void** section,
                uint64_t* actual, bool* created, Sys* sys) {
  HANDLE s;
  *created = false;
  if (create) {
    *sys = kCreateFileMapping;
    s = CreateFileMappingW(INVALID_HANDLE_VALUE, nullptr, PAGE_READWRITE, static_cast<DWORD>(size >> 32),
                           static_cast<DWORD>(size), name);
    if (s == nullptr) return LastError();
    // An existing section of that name: its handle, and its own size.
    bool existed = GetLastError() == ERROR_ALREADY_EXISTS;
    if (existed && exclusive) {
      CloseHandle(s);
      return ERROR_ALREADY_EXISTS;
    }
    *created = !existed;
  } else {
    *sys = kOpenFileMapping;
    s = OpenFileMappingW(writable ? FILE_MAP_READ | FILE_MAP_WRITE : FILE_MAP_READ, FALSE, name);
    if (s == nullptr) return LastError();
  }
  if (*created) {
    *actual = size;
  } else {
    // The size of a section is what one view of all of it spans (page-rounded).
    *sys = kMapViewOfFile;
    void* whole = MapViewOfFile(s, FILE_MAP_READ, 0, 0, 0);
    MEMORY_BASIC_INFORMATION m;
    int code = whole == nullptr ? LastError() : 0;
    if (code == 0 && VirtualQuery(whole, &m, sizeof m) != sizeof m) code = LastError();
    if (whole != nullptr) UnmapViewOfFile(whole);
    if (code != 0) {
      CloseHandle(s);
      return code;
    }
    *actual = m.RegionSize;
  }
  *section = s;
  return 0;
}

int MapSection(void* section, size_t length, int32_t flags, Mapping* out, Sys* sys) {
  bool copy = !(flags & kShared);  // RDONLY and COPY maps: private, so a stray write never faults
  DWORD access = copy ? FILE_MAP_COPY : FILE_MAP_WRITE;
  win::View view;
  *sys = kMapViewOfFile;
  HANDLE self = GetCurrentProcess(), named = nullptr;
  if (!DuplicateHandle(self, static_cast<HANDLE>(section), self, &named, 0, FALSE, DUPLICATE_SAME_ACCESS)) {
    *sys = kDuplicateHandle;
    return LastError();
  }
  uint32_t code = win::MapView(section, 0, length, win::ProtectionOf(access), &view);
  if (code != 0) {
    CloseHandle(named);
    return static_cast<int>(code);
  }
  // No file handle: memory of the paging file has nothing for FlushFileBuffers to do.
  *out = Mapping{view.addr, length, flags, nullptr, view, named};
  return 0;
}

void CloseSection(void* section) { CloseHandle(static_cast<HANDLE>(section)); }

}  // namespace pmm

#endif  // _WIN32

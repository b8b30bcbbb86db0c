// The operating system's side of the native backend: one implementation per
// OS family (sys_posix.cc, sys_windows.cc), no Node-API in here. Every call
// that can fail returns 0 or an error code (errno, or GetLastError on
// Windows) and names the failing call in `*sys`.
#ifndef PORTABLE_MMAP_SYS_H_
#define PORTABLE_MMAP_SYS_H_

#include <cstddef>
#include <cstdint>

#ifdef _WIN32
#include "win_views.h"
#endif

namespace pmm {

// The calls that can fail, reported to JavaScript by index; names in kSyscalls.
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
  kFallocate,
  kVirtualAlloc,
  kMremap,
  kShmOpen,
  kShmUnlink,
  kOpenFileMapping,
  kSysCount
};

extern const char* const kSyscalls[kSysCount];

// Bits of a map request, as packed by the TypeScript wrapper. kPopulate asks
// Map to prefault the pages, as a hint: its failure never fails the map.
enum Flags : int32_t { kShared = 1, kWritable = 2, kExec = 4, kAnon = 8, kPopulate = 16 };

// What the OS layer keeps of one mapping.
struct Mapping {
  uint8_t* addr;
  size_t size;
  int32_t flags;  // Flags of the request
#ifdef _WIN32
  void* file;      // our handle of the file, for FlushFileBuffers; nullptr when there is nothing to flush
  win::View view;  // the view, in a placeholder where they work
  // A named section's handle, held until the map is unmapped: Wine (10)
  // drops a section's name with its last handle, although views still use it.
  void* named;
#endif
};

// What Retire did.
enum Retired : int {
  kRetiredInPlace = 0,  // the pages are anonymous zero pages now
  kKeptMapped = 1,      // the OS cannot replace a view in place here: still the file's pages
};

size_t PageSize();
size_t Granularity();
// The out-of-memory and invalid-argument codes of this OS.
int NoMemory();
int Invalid();
// The code for "in use" (EBUSY, ERROR_BUSY).
int Busy();

// Maps `length` bytes of `fd` from `offset` (fd and offset ignored for kAnon);
// with kPopulate also prefaults the pages (see sys_posix.cc, sys_windows.cc).
int Map(int fd, int64_t offset, size_t length, int32_t flags, Mapping* out, Sys* sys);

// Replaces the mapping by zero-filled private pages at the same addresses, in
// one step, so that the range is never free for someone else to map: a view
// that still points at it reads zeros and its writes go nowhere. Returns a
// `Retired` value (>= 0), or -(error code) where the OS refused and nothing changed.
int Retire(Mapping* m, Sys* sys);

// Gives the address range back (and closes what the mapping holds).
void Release(Mapping* m);

// Moves the pages of an anonymous mapping into a new mapping of `size` bytes
// (zero-filled past the old size, with the protection the mapping was made
// with) without copying them, and leaves the old range mapped and empty: it
// reads zeros until Retire and Release, and is never free for someone else
// to map meanwhile. On failure nothing changed: ENOSYS (or the OS's refusal)
// where the OS cannot move pages (not Linux; a kernel before 5.7; a range
// that advise() or protect() split), and the caller copies instead.
int Move(const Mapping& old, size_t size, Mapping* out, Sys* sys);

// Undoes Move (what follows it failed): the pages go back to the old range,
// and the new range is given back.
void MoveBack(const Mapping& old, const Mapping& moved);

// Writes the range to the file and waits for the device.
int Flush(const Mapping& m, uint8_t* addr, size_t length, Sys* sys);
int Lock(uint8_t* addr, size_t length, Sys* sys);
int Unlock(uint8_t* addr, size_t length, Sys* sys);
// advice 0..4: normal, random, sequential, willneed, dontneed (hints that never change contents).
int Advise(uint8_t* addr, size_t length, int advice, Sys* sys);
int Protect(const Mapping& m, uint8_t* addr, size_t length, bool writable, bool exec, Sys* sys);
// One byte per page of the range, bit 0 set where resident.
int Residency(uint8_t* addr, size_t length, uint8_t* out, Sys* sys);

// The size of the file behind fd if it is a regular file, else -1.
int FileSize(int fd, double* size, Sys* sys);
// Whether FileSize works here (a seccomp filter may refuse statx).
bool FileSizeUsable();

// Allocates the file's blocks for [offset, offset + length), extending the
// file to offset + length, so that later writes through a map cannot meet a
// full disk. EOPNOTSUPP (or the OS's equivalent) where the file system cannot.
int Reserve(int fd, int64_t offset, int64_t length, Sys* sys);

// ---------------------------------------------------------------- named shared memory
// Names come checked by the API: not empty, no '/', '\\' or NUL, at most 255 bytes.

#ifndef _WIN32
// Opens "/<name>" as shm_open does (O_RDWR or O_RDONLY, with O_CREAT and
// O_EXCL as asked, mode 0600, close-on-exec) and stores the descriptor in *fd.
int ShmOpen(const char* name, bool create, bool exclusive, bool writable, int* fd, Sys* sys);
// Removes the name, as shm_unlink does.
int ShmUnlink(const char* name, Sys* sys);
// Closes a descriptor ShmOpen returned.
void CloseFd(int fd);
#else
// Creates (`size` bytes of the paging file; with `exclusive`, ERROR_ALREADY_EXISTS
// if it exists) or opens the section named `name` ("Local\\..."). Stores its
// handle, its size (page-rounded when it already existed) and whether this
// call created it.
int OpenSection(const wchar_t* name, bool create, bool exclusive, bool writable, uint64_t size, void** section,
                uint64_t* actual, bool* created, Sys* sys);
// Maps [0, length) of a section as Map maps a file (kShared: the section's
// pages; else copy-on-write). The view keeps the section alive.
int MapSection(void* section, size_t length, int32_t flags, Mapping* out, Sys* sys);
void CloseSection(void* section);
#endif

}  // namespace pmm

#endif  // PORTABLE_MMAP_SYS_H_

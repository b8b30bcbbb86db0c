// The native backend's system calls on POSIX systems (Linux, macOS, the BSDs).
#ifndef _WIN32

#ifndef _FILE_OFFSET_BITS
#define _FILE_OFFSET_BITS 64
#endif

#include <errno.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include <string>

#include "sys.h"

static_assert(sizeof(off_t) == 8, "64-bit file offsets are required (_FILE_OFFSET_BITS=64)");

#ifndef MAP_ANONYMOUS
#define MAP_ANONYMOUS MAP_ANON
#endif

#if defined(__linux__) && !defined(MADV_POPULATE_READ)
#define MADV_POPULATE_READ 22  // asm-generic/mman-common.h, Linux 5.14
#endif

#if defined(__linux__) && !defined(MREMAP_DONTUNMAP)
#define MREMAP_DONTUNMAP 4  // linux/mman.h, Linux 5.7
#endif

namespace pmm {

namespace {

// Private mappings that need no swap reservation where the OS has the flag.
#ifdef MAP_NORESERVE
const int kNoReserve = MAP_NORESERVE;
#else
const int kNoReserve = 0;
#endif

int Prot(bool writable, bool exec) { return PROT_READ | (writable ? PROT_WRITE : 0) | (exec ? PROT_EXEC : 0); }

// Whether kPopulate is done by MAP_POPULATE in the mmap call itself: on Linux,
// for shared file maps (the kernel read-faults their pages: it write-faults
// only private writable mappings) and for anonymous ones (private and
// writable, so the kernel write-faults them: their zero-filled pages are
// allocated now, which is what prefaulting memory without a file means; a
// read fault would map the shared zero page, and the first write would fault
// again). Never for a private file map: write-faulting it would copy every
// page of the file into anonymous memory.
bool PopulateByMapFlag(int32_t flags) {
#if defined(__linux__) && defined(MAP_POPULATE)
  return (flags & kPopulate) && (flags & (kShared | kAnon));
#else
  (void)flags;
  return false;
#endif
}

// Prefaults the rest of kPopulate's maps after mmap; a hint, so errors are ignored.
void Prefault(void* addr, size_t length) {
#if defined(__linux__)
  // Maps the file's pages (reading them in) without breaking copy-on-write.
  // EINVAL: a kernel before 5.14; then at least start reading them in.
  if (madvise(addr, length, MADV_POPULATE_READ) == 0 || errno != EINVAL) return;
  madvise(addr, length, MADV_WILLNEED);
#else
  // macOS, the BSDs: starts reading the pages in.
  posix_madvise(addr, length, POSIX_MADV_WILLNEED);
#endif
}

}  // namespace

size_t PageSize() { return static_cast<size_t>(sysconf(_SC_PAGESIZE)); }
size_t Granularity() { return PageSize(); }
int NoMemory() { return ENOMEM; }
int Invalid() { return EINVAL; }
int Busy() { return EBUSY; }

int Map(int fd, int64_t offset, size_t length, int32_t flags, Mapping* out, Sys* sys) {
  bool shared = flags & kShared, anon = flags & kAnon;
  int mflags = shared ? MAP_SHARED : MAP_PRIVATE;
  if (anon) {
    mflags |= MAP_ANONYMOUS;
    fd = -1;
    offset = 0;
  } else if (!shared) {
    mflags |= kNoReserve;
  }
  bool byMapFlag = PopulateByMapFlag(flags);
#ifdef MAP_POPULATE
  if (byMapFlag) mflags |= MAP_POPULATE;
#endif
  void* p = mmap(nullptr, length, Prot(flags & kWritable, flags & kExec), mflags, fd, static_cast<off_t>(offset));
  if (p == MAP_FAILED) {
    *sys = kMmap;
    return errno;
  }
  if ((flags & kPopulate) && !byMapFlag) Prefault(p, length);
  *out = Mapping{static_cast<uint8_t*>(p), length, flags};
  return 0;
}

int Retire(Mapping* m, Sys* sys) {
  // MAP_FIXED replaces the old pages in one step: the range is never unmapped
  // in between, so no other mapping can land there. Dirty pages of a shared
  // file map stay in the page cache, which writes them to the file as munmap
  // would have.
  void* p = mmap(m->addr, m->size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED | kNoReserve, -1, 0);
  if (p == MAP_FAILED) {
    *sys = kMmap;
    return -errno;
  }
  return kRetiredInPlace;
}

void Release(Mapping* m) { munmap(m->addr, m->size); }

#if defined(__linux__)
namespace {
size_t WholePages(size_t n) {
  size_t page = PageSize();
  return (n + page - 1) / page * page;
}
}  // namespace

int Move(const Mapping& old, size_t size, Mapping* out, Sys* sys) {
  *sys = kMremap;
  if (!(old.flags & kAnon)) return ENOSYS;
  size_t old_len = WholePages(old.size), new_len = WholePages(size);
  size_t moved = old_len < new_len ? old_len : new_len;
  // DONTUNMAP: the pages move, the old range stays mapped (empty), so it is
  // never free while something may still point at it. The kernel picks the
  // new address: no MREMAP_FIXED, which would unmap a target range even when
  // the move then fails.
  // new_address is passed as nullptr: a C library that hands the variadic
  // argument on as it is would give the kernel whatever its register holds.
  void* p = mremap(old.addr, moved, moved, MREMAP_MAYMOVE | MREMAP_DONTUNMAP, nullptr);
  if (p == MAP_FAILED) return errno;
  Mapping m{static_cast<uint8_t*>(p), moved, old.flags};
  if (new_len > moved) {
    // Only this thread knows the new range yet, so it may move again as it grows.
    void* q = mremap(p, moved, new_len, MREMAP_MAYMOVE, nullptr);
    if (q == MAP_FAILED) {
      int code = errno;
      MoveBack(old, m);
      return code;
    }
    m.addr = static_cast<uint8_t*>(q);
  }
  m.size = size;
  // protect() may have changed the pages' protection; the new map has the one it was made with.
  if (mprotect(m.addr, new_len, Prot(old.flags & kWritable, old.flags & kExec)) != 0) {
    int code = errno;
    *sys = kMprotect;
    MoveBack(old, m);
    return code;
  }
  *out = m;
  return 0;
}

void MoveBack(const Mapping& old, const Mapping& moved) {
  size_t old_len = WholePages(old.size), new_len = WholePages(moved.size);
  size_t back = old_len < new_len ? old_len : new_len;
  // MREMAP_FIXED onto the old range, which is ours and empty: replaced in one step.
  if (mremap(moved.addr, back, back, MREMAP_MAYMOVE | MREMAP_FIXED, old.addr) == MAP_FAILED) return;
  if (new_len > back) munmap(moved.addr + back, new_len - back);
}
#else
int Move(const Mapping& /*old*/, size_t /*size*/, Mapping* /*out*/, Sys* sys) {
  *sys = kMremap;
  return ENOSYS;
}

void MoveBack(const Mapping& /*old*/, const Mapping& /*moved*/) {}
#endif

int Flush(const Mapping& /*m*/, uint8_t* addr, size_t length, Sys* sys) {
  *sys = kMsync;
  return msync(addr, length, MS_SYNC) == 0 ? 0 : errno;
}

int Lock(uint8_t* addr, size_t length, Sys* sys) {
  *sys = kMlock;
  return mlock(addr, length) == 0 ? 0 : errno;
}

int Unlock(uint8_t* addr, size_t length, Sys* sys) {
  *sys = kMunlock;
  return munlock(addr, length) == 0 ? 0 : errno;
}

int Advise(uint8_t* addr, size_t length, int advice, Sys* sys) {
  // POSIX_MADV_DONTNEED, unlike Linux's MADV_DONTNEED, never discards data.
  static const int kAdvice[5] = {POSIX_MADV_NORMAL, POSIX_MADV_RANDOM, POSIX_MADV_SEQUENTIAL, POSIX_MADV_WILLNEED,
                                 POSIX_MADV_DONTNEED};
  *sys = kMadvise;
  if (advice < 0 || advice > 4) return EINVAL;
  return posix_madvise(addr, length, kAdvice[advice]);  // returns the error itself
}

int Protect(const Mapping& /*m*/, uint8_t* addr, size_t length, bool writable, bool exec, Sys* sys) {
  *sys = kMprotect;
  return mprotect(addr, length, Prot(writable, exec)) == 0 ? 0 : errno;
}

int Residency(uint8_t* addr, size_t length, uint8_t* out, Sys* sys) {
#if defined(__linux__)
  unsigned char* vec = out;
#else
  char* vec = reinterpret_cast<char*>(out);
#endif
  *sys = kMincore;
  return mincore(addr, length, vec) == 0 ? 0 : errno;
}

#if defined(__GLIBC__) && defined(STATX_TYPE) && defined(AT_EMPTY_PATH)
// statx, not fstat, on glibc: since glibc 2.33 fstat is a symbol of its own
// (fstat64@GLIBC_2.33), which would keep a binary built on a current system
// from loading on older ones; statx is there from glibc 2.28, as old as the
// oldest glibc Node 20 runs on. Errors are reported as fstat's, as the API does.
int FileSize(int fd, double* size, Sys* sys) {
  struct statx about;
  *sys = kFstat;
  if (statx(fd, "", AT_EMPTY_PATH, STATX_TYPE | STATX_SIZE, &about) != 0) return errno;
  *size = S_ISREG(about.stx_mode) ? static_cast<double>(about.stx_size) : -1;
  return 0;
}

// A seccomp filter (old container runtimes) may refuse statx with EPERM, or an
// old kernel with ENOSYS; then the API uses Node's fstat.
bool FileSizeUsable() {
  struct statx about;
  if (statx(AT_FDCWD, "", AT_EMPTY_PATH, STATX_TYPE, &about) == 0) return true;
  return errno != ENOSYS && errno != EPERM;
}
#else
int FileSize(int fd, double* size, Sys* sys) {
  struct stat about;
  *sys = kFstat;
  if (fstat(fd, &about) != 0) return errno;
  bool sized = S_ISREG(about.st_mode);
#ifdef __APPLE__
  // A POSIX shared-memory segment's mode has no file type on macOS, yet it has a size.
  sized = sized || (about.st_mode & S_IFMT) == 0;
#endif
  *size = sized ? static_cast<double>(about.st_size) : -1;
  return 0;
}

bool FileSizeUsable() { return true; }
#endif

#if defined(__linux__)
// What glibc's and musl's shm_open do: a file in /dev/shm. Called directly
// rather than through shm_open, which glibc 2.34 moved from librt into libc
// under a new symbol version: a binary linked on a current system would need
// glibc 2.34, and one linked with librt would miss it on a current system.
namespace {
std::string ShmPath(const char* name) { return std::string("/dev/shm/") + name; }
}  // namespace

int ShmOpen(const char* name, bool create, bool exclusive, bool writable, int* fd, Sys* sys) {
  *sys = kShmOpen;
  // O_NONBLOCK: a FIFO someone put at the name would block a read-only open until a writer
  // came (for good); it opens at once instead, and the API refuses it as not a regular file.
  // On a regular file the flag changes nothing.
  int oflag = (writable ? O_RDWR : O_RDONLY) | (create ? O_CREAT : 0) | (exclusive ? O_EXCL : 0) | O_NOFOLLOW |
              O_CLOEXEC | O_NONBLOCK;
  int r;
  do r = open(ShmPath(name).c_str(), oflag, 0600);
  while (r < 0 && errno == EINTR);
  if (r < 0) return errno;
  *fd = r;
  return 0;
}

int ShmUnlink(const char* name, Sys* sys) {
  *sys = kShmUnlink;
  return unlink(ShmPath(name).c_str()) == 0 ? 0 : errno;
}
#else
int ShmOpen(const char* name, bool create, bool exclusive, bool writable, int* fd, Sys* sys) {
  *sys = kShmOpen;
  int oflag = (writable ? O_RDWR : O_RDONLY) | (create ? O_CREAT : 0) | (exclusive ? O_EXCL : 0);
  std::string path = std::string("/") + name;
  int r;
  do r = shm_open(path.c_str(), oflag, 0600);
  while (r < 0 && errno == EINTR);
  if (r < 0) return errno;
  fcntl(r, F_SETFD, FD_CLOEXEC);  // macOS does not set it; FreeBSD does already
  *fd = r;
  return 0;
}

int ShmUnlink(const char* name, Sys* sys) {
  *sys = kShmUnlink;
  std::string path = std::string("/") + name;
  return shm_unlink(path.c_str()) == 0 ? 0 : errno;
}
#endif

void CloseFd(int fd) { close(fd); }  // never retried on EINTR: on Linux the descriptor is gone either way

int Reserve(int fd, int64_t offset, int64_t length, Sys* sys) {
  *sys = kFallocate;
#if defined(__APPLE__)
  // macOS has no posix_fallocate: F_PREALLOCATE reserves blocks past the end
  // (contiguous if it can, else any), then ftruncate sets the size.
  fstore_t store = {F_ALLOCATECONTIG, F_PEOFPOSMODE, 0, static_cast<off_t>(offset + length), 0};
  struct stat about;
  if (fstat(fd, &about) != 0) return errno;
  store.fst_length = static_cast<off_t>(offset + length) - about.st_size;
  if (store.fst_length > 0 && fcntl(fd, F_PREALLOCATE, &store) == -1) {
    store.fst_flags = F_ALLOCATEALL;
    if (fcntl(fd, F_PREALLOCATE, &store) == -1) return errno;
  }
  return ftruncate(fd, static_cast<off_t>(offset + length)) == 0 ? 0 : errno;
#else
  // Returns the error itself. EINVAL or EOPNOTSUPP where the file system has no fallocate.
  int code;
  do {
    code = posix_fallocate(fd, static_cast<off_t>(offset), static_cast<off_t>(length));
  } while (code == EINTR);
  return code;
#endif
}

}  // namespace pmm

#endif  // !_WIN32

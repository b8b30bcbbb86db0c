// The process-wide table of the addon's mappings, shared by every JavaScript
// environment (main thread and workers): it hands out the ids JavaScript holds
// (a stale id is detected, never dereferenced), counts live and retired
// mappings, and lets the SIGBUS handler (fault_posix.cc) and the Windows
// retire guard (win_views.cc) find a mapping by address without a lock.
//
// Writers (JavaScript threads) serialize on a mutex. A slot's range is
// published by storing `begin` last and withdrawn by storing 0 first; a
// signal handler "pins" a slot before it uses it, and Remove waits for pins,
// so once Remove returns no handler touches that range again. Slots live in
// chunks allocated once and never freed, so a pointer the handler holds
// stays valid.
#ifndef PORTABLE_MMAP_TABLE_H_
#define PORTABLE_MMAP_TABLE_H_

#include <atomic>
#include <cstddef>
#include <cstdint>

namespace pmm {

struct Region;

namespace table {

// counters[kFaultEpoch] grows by one with every handled fault; counters[kLive]
// is the number of mappings not yet retired or released, counters[kRetired]
// the number retired but not yet released. JavaScript reads them through an
// Int32Array over this memory.
enum Counter : int { kFaultEpoch = 0, kLive = 1, kRetired = 2, kCounterCount = 3 };
extern std::atomic<int32_t> counters[kCounterCount];

// Adds a mapping of `size` bytes at `begin` (page-aligned) whose first byte is
// at `file_offset` of its file; `writable` says what a zero page put over a
// faulting page may allow. Returns its id (> 0), or 0 when the table is full.
double Add(Region* region, uintptr_t begin, size_t size, int64_t file_offset, bool writable);
// The region of an id, or nullptr if the id is stale (its mapping was released).
Region* Get(double id);
// The mapping is retired (unmapped from JavaScript's view); it keeps its range.
void Retire(double id);
// Whether zero pages put over faulting pages may be written (after protect()).
void SetWritable(double id, bool writable);
// Forgets the mapping: after this returns, no fault handler touches its range,
// which may then be given back. The id is stale from now on.
void Remove(double id);
// The file offset of the first byte that faulted, or -1.
int64_t FaultAt(double id);

// Whether `addr` lies in one of the table's mappings. Lock-free.
bool Owns(uintptr_t addr);

// Puts zero pages over [at, at + length) in place; true on success. Must be async-signal-safe.
typedef bool (*ZeroPages)(uintptr_t at, size_t length, bool writable);

// For the SIGBUS handler (lock-free, async-signal-safe): if `addr` lies in a
// mapping of the table, has `zero` replace the faulting page (the whole
// mapping if that fails: splitting a mapping needs new ones, which
// vm.max_map_count may refuse), records the fault and returns true: the
// access can be retried. `page_size` is the system's.
bool RecoverFault(uintptr_t addr, uintptr_t page_size, ZeroPages zero);

}  // namespace table
}  // namespace pmm

#endif  // PORTABLE_MMAP_TABLE_H_

// The process-wide table of the addon's mappings, shared by every JavaScript
// environment (main thread and workers): it hands out the ids JavaScript holds
// (a stale id is detected, never dereferenced), counts live mappings, and
// lets the SIGBUS handler find a mapping by address without taking a lock.
//
// Writers (JavaScript threads) serialize on a mutex; each slot is also a
// seqlock, so the signal handler, which cannot lock, reads a slot's fields
// consistently or not at all. Slots live in chunks that are allocated once
// and never freed, so a pointer the handler holds stays valid.
#ifndef PORTABLE_MMAP_TABLE_H_
#define PORTABLE_MMAP_TABLE_H_

#include <atomic>
#include <cstddef>
#include <cstdint>

namespace pmm {

struct Region;

namespace table {

// What a slot's address range is, as the signal handler sees it.
enum Kind : uint32_t {
  kFree = 0,
  kFile = 1,     // a file's pages: a fault there is the file's (SIGBUS: truncated, I/O error, full disk)
  kOther = 2,    // anonymous or retired (zero pages): a late fault only needs a retry
};

// counters[kFaultEpoch] grows by one with every handled fault; counters[kLive]
// is the number of mappings not yet retired or released, counters[kRetired]
// the number retired but not yet released. JavaScript reads them through an
// Int32Array over this memory.
enum Counter : int { kFaultEpoch = 0, kLive = 1, kRetired = 2, kCounterCount = 3 };
extern std::atomic<int32_t> counters[kCounterCount];

// Adds a mapping; returns its id (> 0), or 0 when the table is full.
double Add(Region* region, uintptr_t begin, size_t size, int64_t file_offset, Kind kind);
// The region of an id, or nullptr if the id is stale (its mapping was released).
Region* Get(double id);
// The mapping's pages are zero pages now (or it stays mapped but is no longer live).
void Retire(double id, bool in_place);
// The address range is given back: the slot is free, the id stale.
void Remove(double id);
// The file offset of the first page that faulted, or -1.
int64_t FaultAt(double id);

// Whether `addr` lies in one of the table's mappings (live or retired). Lock-free.
bool Owns(uintptr_t addr);

// For the signal handler: if `addr` lies in a mapping of the table, returns
// its kind and, for kFile, sets *page_begin to the start of the faulting page
// and records the fault (first one wins; the epoch counter grows). Lock-free.
Kind HandleFault(uintptr_t addr, size_t page_size, uintptr_t* page_begin);

}  // namespace table
}  // namespace pmm

#endif  // PORTABLE_MMAP_TABLE_H_

// The process-wide table of mappings; see table.h.
//
// Memory ordering, as the SIGBUS handler needs it:
// - Publication: a chunk pointer is stored (release) before `used` (release);
//   a reader that loads `used` (acquire) sees every chunk below it. A slot's
//   fields are stored before its `begin` (release); a reader that sees the
//   new `begin` (acquire) sees them.
// - Pin and withdraw (Dekker): the handler increments `inflight`, then
//   re-reads `begin` (both seq_cst); Remove stores `begin` = 0, then waits
//   for `inflight` to drop to 0 (both seq_cst). Either the handler sees 0 and
//   leaves the range alone, or Remove sees the pin and waits for it.
#include "table.h"

#include <mutex>
#include <new>
#include <thread>

namespace pmm {
namespace table {

std::atomic<int32_t> counters[kCounterCount];

namespace {

static_assert(std::atomic<uintptr_t>::is_always_lock_free, "the signal handler needs lock-free atomics");
static_assert(std::atomic<int64_t>::is_always_lock_free, "the signal handler needs lock-free atomics");
static_assert(std::atomic<uint32_t>::is_always_lock_free, "the signal handler needs lock-free atomics");

// Ids are slot | generation << kSlotBits, kept below 2^53 so a double holds them exactly.
constexpr int kSlotBits = 24;
constexpr uint32_t kChunkSize = 1024;
constexpr uint32_t kMaxChunks = (1u << kSlotBits) / kChunkSize;
constexpr uint64_t kMaxGeneration = (uint64_t{1} << 28) - 1;

struct alignas(64) Slot {  // one cache line each: pins of different slots do not contend
  std::atomic<uintptr_t> begin{0};  // 0 while free; stored last when added, first when removed
  std::atomic<uintptr_t> size{0};
  std::atomic<int64_t> file_offset{-1};
  std::atomic<bool> writable{true};
  std::atomic<uint32_t> inflight{0};  // fault handlers working on the range
  std::atomic<int64_t> fault_at{-1};  // the first faulting byte's file offset
  // Atomic because a stale id may be checked while another thread reuses the slot.
  std::atomic<uint64_t> generation{1};
  // Writers only, under the mutex.
  Region* region = nullptr;
  bool live = false;     // counted in counters[kLive]
  bool retired = false;  // counted in counters[kRetired]
  uint32_t next_free = 0;  // 1 + index of the next free slot, 0 for none
};

std::atomic<Slot*> chunks[kMaxChunks];
// Slots [0, used) have been handed out at least once; the handler scans them.
std::atomic<uint32_t> used{0};
uint32_t first_free = 0;  // 1 + index, 0 for none
std::mutex mutex;

Slot* At(uint32_t index) { return &chunks[index / kChunkSize].load(std::memory_order_acquire)[index % kChunkSize]; }

Slot* SlotOf(double id, uint32_t* index) {
  uint64_t bits = static_cast<uint64_t>(id);
  *index = static_cast<uint32_t>(bits & ((1u << kSlotBits) - 1));
  if (id <= 0 || *index >= used.load(std::memory_order_acquire)) return nullptr;
  Slot* s = At(*index);
  return s->generation.load(std::memory_order_acquire) == (bits >> kSlotBits) && s->region != nullptr ? s : nullptr;
}

void Count(Counter counter, bool* flag, bool on) {
  if (*flag == on) return;
  *flag = on;
  counters[counter].fetch_add(on ? 1 : -1, std::memory_order_relaxed);
}

}  // namespace

double Add(Region* region, uintptr_t begin, size_t size, int64_t file_offset, bool writable) {
  std::lock_guard<std::mutex> lock(mutex);
  uint32_t index;
  if (first_free != 0) {
    index = first_free - 1;
    first_free = At(index)->next_free;
  } else {
    index = used.load(std::memory_order_relaxed);
    if (index >= kChunkSize * kMaxChunks) return 0;
    if (index % kChunkSize == 0) {
      Slot* chunk = new (std::nothrow) Slot[kChunkSize];
      if (chunk == nullptr) return 0;
      chunks[index / kChunkSize].store(chunk, std::memory_order_release);
    }
    used.store(index + 1, std::memory_order_release);  // the slot is free (begin 0): safe to scan
  }
  Slot* s = At(index);
  s->region = region;
  s->next_free = 0;
  s->retired = false;
  Count(kLive, &s->live, true);
  s->size.store(size, std::memory_order_relaxed);
  s->file_offset.store(file_offset, std::memory_order_relaxed);
  s->writable.store(writable, std::memory_order_relaxed);
  s->fault_at.store(-1, std::memory_order_relaxed);
  s->begin.store(begin, std::memory_order_release);  // published: a handler may use it from now on
  return static_cast<double>(index | (s->generation.load(std::memory_order_relaxed) << kSlotBits));
}

// Get, SetWritable and FaultAt take no lock: a slot is only removed or reused
// by the thread that owns its mapping, which is the thread calling them.
Region* Get(double id) {
  uint32_t index;
  Slot* s = SlotOf(id, &index);
  return s == nullptr ? nullptr : s->region;
}

void SetWritable(double id, bool writable) {
  uint32_t index;
  Slot* s = SlotOf(id, &index);
  if (s != nullptr) s->writable.store(writable, std::memory_order_relaxed);
}

int64_t FaultAt(double id) {
  uint32_t index;
  Slot* s = SlotOf(id, &index);
  return s == nullptr ? -1 : s->fault_at.load(std::memory_order_acquire);
}

void Retire(double id) {
  std::lock_guard<std::mutex> lock(mutex);
  uint32_t index;
  Slot* s = SlotOf(id, &index);
  if (s == nullptr) return;
  // Zero pages are read-write: a late handler's zero page may be too.
  s->writable.store(true, std::memory_order_relaxed);
  Count(kLive, &s->live, false);
  Count(kRetired, &s->retired, true);
}

void Remove(double id) {
  std::lock_guard<std::mutex> lock(mutex);
  uint32_t index;
  Slot* s = SlotOf(id, &index);
  if (s == nullptr) return;
  s->begin.store(0, std::memory_order_seq_cst);  // withdrawn: new handlers skip the slot
  // Handlers that pinned it before may still be about to map a zero page into
  // the range: wait for them (they never block; microseconds).
  while (s->inflight.load(std::memory_order_seq_cst) != 0) std::this_thread::yield();
  Count(kLive, &s->live, false);
  Count(kRetired, &s->retired, false);
  s->region = nullptr;
  uint64_t next = s->generation.load(std::memory_order_relaxed) + 1;
  s->generation.store(next > kMaxGeneration ? 1 : next, std::memory_order_release);
  s->next_free = first_free;
  first_free = index + 1;
}

bool Owns(uintptr_t addr) {
  uint32_t count = used.load(std::memory_order_acquire);
  for (uint32_t i = 0; i < count; i++) {
    Slot* s = At(i);
    uintptr_t begin = s->begin.load(std::memory_order_acquire);
    if (begin != 0 && addr - begin < s->size.load(std::memory_order_relaxed)) return true;  // unsigned: addr < begin wraps
  }
  return false;
}

bool RecoverFault(uintptr_t addr, uintptr_t page_size, ZeroPages zero) {
  // Normally one pass; if a candidate changed between the look and the pin (a
  // concurrent Remove and Add), look again, a bounded number of times.
  for (int pass = 0; pass < 4; pass++) {
    bool raced = false;
    uint32_t count = used.load(std::memory_order_acquire);
    for (uint32_t i = 0; i < count; i++) {
      Slot* s = At(i);
      uintptr_t begin = s->begin.load(std::memory_order_acquire);
      if (begin == 0 || addr - begin >= s->size.load(std::memory_order_relaxed)) continue;
      s->inflight.fetch_add(1, std::memory_order_seq_cst);
      begin = s->begin.load(std::memory_order_seq_cst);
      uintptr_t size = s->size.load(std::memory_order_relaxed);
      bool ours = begin != 0 && addr - begin < size;
      bool fixed = false;
      if (ours) {
        bool writable = s->writable.load(std::memory_order_relaxed);
        uintptr_t page = addr & ~(page_size - 1);
        fixed = zero(page, page_size, writable) || zero(begin, size, writable);
        if (fixed) {
          int64_t none = -1;
          int64_t at = s->file_offset.load(std::memory_order_relaxed) + static_cast<int64_t>(addr - begin);
          s->fault_at.compare_exchange_strong(none, at, std::memory_order_acq_rel);
        }
      }
      s->inflight.fetch_sub(1, std::memory_order_release);
      if (ours) {
        if (fixed) counters[kFaultEpoch].fetch_add(1, std::memory_order_release);  // after the slot's record
        return fixed;
      }
      raced = true;
    }
    if (!raced) return false;
  }
  return false;
}

}  // namespace table
}  // namespace pmm

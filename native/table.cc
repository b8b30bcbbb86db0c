// The process-wide table of mappings; see table.h.
#include "table.h"

#include <mutex>
#include <new>

namespace pmm {
namespace table {

std::atomic<int32_t> counters[kCounterCount];

namespace {

// Ids are slot | generation << kSlotBits, kept below 2^53 so a double holds them exactly.
constexpr int kSlotBits = 24;
constexpr uint32_t kChunkSize = 4096;
constexpr uint32_t kMaxChunks = (1u << kSlotBits) / kChunkSize;
constexpr uint64_t kMaxGeneration = (uint64_t{1} << 28) - 1;

struct Slot {
  // Seqlock: odd while a writer changes the fields below.
  std::atomic<uint32_t> seq{0};
  std::atomic<uint32_t> kind{kFree};
  std::atomic<uintptr_t> begin{0};
  std::atomic<uintptr_t> end{0};
  std::atomic<int64_t> file_offset{-1};
  // Written by the signal handler only: the first faulting page's file offset.
  std::atomic<int64_t> fault_at{-1};
  // Writers only, under the mutex.
  Region* region = nullptr;
  bool live = false;     // counted in counters[kLive]
  bool retired = false;  // counted in counters[kRetired]
  // Atomic because a stale id may be checked while another thread reuses the slot.
  std::atomic<uint64_t> generation{1};
  uint32_t next_free = 0;  // 1 + index of the next free slot, 0 for none
};

std::atomic<Slot*> chunks[kMaxChunks];
// Slots [0, used) have been handed out at least once; the handler scans them.
std::atomic<uint32_t> used{0};
uint32_t first_free = 0;  // 1 + index, 0 for none
std::mutex mutex;

Slot* At(uint32_t index) { return &chunks[index / kChunkSize].load(std::memory_order_acquire)[index % kChunkSize]; }

// Runs `write` as one seqlock write of the slot.
template <typename F>
void Write(Slot* s, F write) {
  s->seq.fetch_add(1, std::memory_order_acq_rel);
  write();
  s->seq.fetch_add(1, std::memory_order_release);
}

Slot* SlotOf(double id, uint32_t* index) {
  uint64_t bits = static_cast<uint64_t>(id);
  *index = static_cast<uint32_t>(bits & ((1u << kSlotBits) - 1));
  if (id <= 0 || *index >= used.load(std::memory_order_relaxed)) return nullptr;
  Slot* s = At(*index);
  return s->generation.load(std::memory_order_acquire) == (bits >> kSlotBits) && s->region != nullptr ? s : nullptr;
}

}  // namespace

double Add(Region* region, uintptr_t begin, size_t size, int64_t file_offset, Kind kind) {
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
    used.store(index + 1, std::memory_order_release);
  }
  Slot* s = At(index);
  s->region = region;
  s->live = true;
  s->retired = false;
  s->next_free = 0;
  Write(s, [&] {
    s->begin.store(begin, std::memory_order_relaxed);
    s->end.store(begin + size, std::memory_order_relaxed);
    s->file_offset.store(file_offset, std::memory_order_relaxed);
    s->fault_at.store(-1, std::memory_order_relaxed);
    s->kind.store(kind, std::memory_order_relaxed);
  });
  counters[kLive].fetch_add(1, std::memory_order_relaxed);
  return static_cast<double>(index | (s->generation.load(std::memory_order_relaxed) << kSlotBits));
}

// Get and FaultAt take no lock: a slot is only removed or reused by the
// thread that owns its mapping, which is the thread calling them.
Region* Get(double id) {
  uint32_t index;
  Slot* s = SlotOf(id, &index);
  return s == nullptr ? nullptr : s->region;
}

void Retire(double id, bool in_place) {
  std::lock_guard<std::mutex> lock(mutex);
  uint32_t index;
  Slot* s = SlotOf(id, &index);
  if (s == nullptr) return;
  if (in_place) Write(s, [&] { s->kind.store(kOther, std::memory_order_relaxed); });
  if (s->live) counters[kLive].fetch_sub(1, std::memory_order_relaxed);
  s->live = false;
  if (!s->retired) counters[kRetired].fetch_add(1, std::memory_order_relaxed);
  s->retired = true;
}

void Remove(double id) {
  std::lock_guard<std::mutex> lock(mutex);
  uint32_t index;
  Slot* s = SlotOf(id, &index);
  if (s == nullptr) return;
  Write(s, [&] {
    s->kind.store(kFree, std::memory_order_relaxed);
    s->begin.store(0, std::memory_order_relaxed);
    s->end.store(0, std::memory_order_relaxed);
  });
  if (s->live) counters[kLive].fetch_sub(1, std::memory_order_relaxed);
  if (s->retired) counters[kRetired].fetch_sub(1, std::memory_order_relaxed);
  s->live = s->retired = false;
  s->region = nullptr;
  uint64_t next = s->generation.load(std::memory_order_relaxed) + 1;
  s->generation.store(next > kMaxGeneration ? 1 : next, std::memory_order_release);
  s->next_free = first_free;
  first_free = index + 1;
}

int64_t FaultAt(double id) {
  uint32_t index;
  Slot* s = SlotOf(id, &index);
  return s == nullptr ? -1 : s->fault_at.load(std::memory_order_acquire);
}

namespace {

// Reads a slot's fields consistently (seqlock); false if a writer kept it busy.
bool Snapshot(Slot* s, uint32_t* kind, uintptr_t* begin, uintptr_t* end, int64_t* file_offset) {
  // A writer interrupted by this very signal never finishes: give up after a few tries.
  for (int attempt = 0; attempt < 64; attempt++) {
    uint32_t before = s->seq.load(std::memory_order_acquire);
    if (before & 1) continue;
    *kind = s->kind.load(std::memory_order_relaxed);
    *begin = s->begin.load(std::memory_order_relaxed);
    *end = s->end.load(std::memory_order_relaxed);
    *file_offset = s->file_offset.load(std::memory_order_relaxed);
    std::atomic_thread_fence(std::memory_order_acquire);
    if (s->seq.load(std::memory_order_relaxed) == before) return true;
  }
  return false;
}

}  // namespace

bool Owns(uintptr_t addr) {
  uint32_t count = used.load(std::memory_order_acquire);
  for (uint32_t i = 0; i < count; i++) {
    uint32_t kind;
    uintptr_t begin, end;
    int64_t file_offset;
    if (Snapshot(At(i), &kind, &begin, &end, &file_offset) && kind != kFree && addr >= begin && addr < end)
      return true;
  }
  return false;
}

Kind HandleFault(uintptr_t addr, size_t page_size, uintptr_t* page_begin) {
  uint32_t count = used.load(std::memory_order_acquire);
  for (uint32_t i = 0; i < count; i++) {
    Slot* s = At(i);
    uint32_t kind;
    uintptr_t begin, end;
    int64_t file_offset;
    if (!Snapshot(s, &kind, &begin, &end, &file_offset) || kind == kFree || addr < begin || addr >= end) continue;
    if (kind != kFile) return static_cast<Kind>(kind);
    *page_begin = addr - (addr - begin) % page_size;
    int64_t none = -1;
    int64_t at = file_offset + static_cast<int64_t>(*page_begin - begin);
    s->fault_at.compare_exchange_strong(none, at, std::memory_order_acq_rel);
    counters[kFaultEpoch].fetch_add(1, std::memory_order_release);
    return kFile;
  }
  return kFree;
}

}  // namespace table
}  // namespace pmm

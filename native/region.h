// The lifetime of one mapping in the native backend, and of the JavaScript
// environment (main thread or worker) that owns it. No system calls here
// beyond what sys.h offers; no JavaScript values beyond the weak reference.
//
// A mapping's address range is given back to the system only once nothing
// can point at it:
// - mapped, never unmapped: when its ArrayBuffer's memory is freed (the
//   buffer's finalizer). Whatever else uses the memory holds that buffer.
// - unmapped: unmap() retires it at once (zero pages in place, the buffer
//   detached), then it waits until the buffer object is collected: work on
//   libuv's thread pool (crypto.randomFill, zlib, fs.read) holds a raw
//   pointer and the buffer object, not the memory's owner. If the buffer's
//   memory had been moved to another ArrayBuffer (transfer(), a BYOB read),
//   it also waits for that one's finalizer.
// - unmapped while a flushAsync was in flight: the buffer is detached at once
//   and the region retired when the last flush ends; until then nothing
//   gives the range back (the detach ran the finalizer early).
// - a flushAsync in flight holds it too.
// - the environment is torn down (its thread ends): Node runs every pending
//   finalizer then, although memory moved to another ArrayBuffer may have
//   been posted to another thread. A region whose memory may have moved is
//   retired in place and its range stays reserved for good.
// The record itself lives until its finalizer has run and the range is given back.
#ifndef PORTABLE_MMAP_REGION_H_
#define PORTABLE_MMAP_REGION_H_

#include <node_api.h>

#include <cstdint>
#include <mutex>
#include <thread>

#include "sys.h"

namespace pmm {

struct Env;

struct Region {
  Mapping mapping;
  double id;            // in the process-wide table (table.h)
  Env* env;             // the owner; nullptr once it is torn down
  Region* prev;         // the owner's list of regions
  Region* next;
  napi_ref buffer;      // weak reference to the map's ArrayBuffer object
  uint32_t jobs;        // flushAsync calls in flight
  bool store_alive;     // the ArrayBuffer's memory has not been freed yet (finalizer not run)
  bool retired;         // unmap() has run
  bool unmapping;       // unmap() detached the buffer and waits for pending flushes to retire it
  bool kept;            // the range stays reserved for good (environment torn down, memory may have moved)
  bool moved;           // at unmap() (or the worker's exit event) the memory had been moved to another ArrayBuffer
  bool buffer_dead;     // the retired buffer object has been collected
  bool released;        // the address range has been given back
  Region* next_finalized;  // in the environment's list of regions finalized on another thread
  bool finalized_early;    // that finalizer ran once the environment was stopping
};

// Per JavaScript environment (napi instance data).
struct Env {
  napi_env env;
  double* scratch;      // [id of the last map, index of the last failing call, ...]
  napi_ref scratch_ref;
  Region* regions;      // every region this environment has not freed yet
  Region** retired;     // retired regions whose buffer may still be alive
  size_t retired_count;
  size_t retired_capacity;
  napi_ref sentinel;    // weak reference to an object: gone means a full collection ran
  int64_t retired_bytes;   // address space held by retired regions
  int64_t reported_bytes;  // of which reported to the garbage collector as external memory
  bool stopping;        // the environment is about to be torn down: finalizers may run early
  // Finalizers run on other threads (Deno's V8 sweeper threads) hand their
  // regions to this environment's thread: the list (guarded by
  // FinalizerMutex) and the call that wakes that thread to settle them.
  std::thread::id thread = std::this_thread::get_id();
  napi_threadsafe_function wake = nullptr;
  Region* finalized = nullptr;
};

// The runtime calls an external ArrayBuffer's finalizer later, not inside the
// detach that freed its memory (Node does; Bun and Deno do not), so a retired
// region whose buffer was not moved cannot wait for it. Set once at load.
extern bool finalizers_deferred;

// Replaces the region's pages in place with zero pages and marks it retired
// in the table. If the pages cannot be replaced (out of memory, or Windows
// without placeholders), the file stays mapped until the range is released,
// which is still safe.
void RetireInPlace(Region* r);

// Retires the region in place (unless it is already) and keeps its range
// reserved for good: something may still use the memory, and nothing will
// say when it stops.
void KeepForGood(Region* r);

// The region is done with: give the range back where the rules above allow,
// and free the record where nothing refers to it any more. `napi` may be
// nullptr (during the environment's teardown).
void Settle(Region* r, napi_env napi);

// What the buffer's finalizer does, once on the environment's thread. Node
// runs a finalizer early, while the memory may still be in use, when it
// tears the environment down: memory moved to another ArrayBuffer may live
// on in another thread. Such a region (`early`) is retired in place and its
// range kept for good where its memory had moved, or might have
// (worker.terminate(): nothing ran to tell). Then the region is settled.
void Finalize(Region* r, bool early, napi_env napi);

// Whether the region's range might have to be kept if its finalizer runs early.
bool MayNeedKeeping(const Region* r);

// Whether a finalizer running now, on the environment's thread, runs early:
// Node allows no JavaScript then; Bun and Deno say nothing, and only a
// stopping environment (the worker's exit event ran) tells.
bool Early(Region* r, napi_env napi);

// Guards each environment's `finalized` list, its `stopping` flag as seen
// from other threads, and its regions' `env` during teardown.
std::mutex& FinalizerMutex();

// Called by a finalizer: where it runs on another thread than the region's
// environment, queues the region for that thread and wakes it; true if so.
bool QueueIfOffThread(Region* r);

// Finalizes the regions queued for this environment (on its thread).
void DrainFinalized(Env* e, napi_env napi);

// Finalizes the regions of a queue taken from an environment; FinalizerMutex may be held.
void FinalizeQueued(Region* list, napi_env napi);

// The worker's exit event ran: finalizers from now on may run early.
void SetStopping(Env* e);

// Checks which retired regions' buffers have been collected and settles them.
// Returns the number of retired regions still waiting.
size_t Sweep(Env* e);

// Retired regions hold address space the garbage collector does not see:
// past a threshold it is reported as external memory, so that a collection
// runs and Sweep can give it back.
void ReportRetired(Env* e, int64_t delta);

}  // namespace pmm

#endif  // PORTABLE_MMAP_REGION_H_

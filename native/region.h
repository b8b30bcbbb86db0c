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

#include <cstddef>
#include <cstdint>

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
  // Weak references to delete outside a finalizer: Bun and Deno may run one
  // inside a collection, where deleting a reference breaks the engine.
  napi_ref* dead_refs;
  size_t dead_count;
  size_t dead_capacity;
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

// Called by the finalizer. Node runs a finalizer early, while the memory may
// still be in use, when it tears the environment down: memory moved to
// another ArrayBuffer may live on in another thread. Such a region is
// retired in place and its range kept for good where its memory had moved,
// or might have (worker.terminate(): nothing ran to tell).
void KeepIfEarly(Region* r, napi_env napi);

// Deletes the references Settle set aside (dead_refs); call where no finalizer runs.
void DropDeadRefs(Env* e);

// Checks which retired regions' buffers have been collected and settles them.
// Returns the number of retired regions still waiting.
size_t Sweep(Env* e);

// Retired regions hold address space the garbage collector does not see:
// past a threshold it is reported as external memory, so that a collection
// runs and Sweep can give it back.
void ReportRetired(Env* e, int64_t delta);

}  // namespace pmm

#endif  // PORTABLE_MMAP_REGION_H_

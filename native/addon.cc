// portable-mmap native backend: the Node-API glue over sys.h (system calls),
// table.h (ids, live count, fault lookup) and region.h (lifetimes).
//
// JavaScript gets each mapping as an external ArrayBuffer over the mapped
// memory (zero copy) plus an id from the table. Calls report failure by
// returning a non-zero error code (errno, or GetLastError on Windows) and
// storing the index of the failing call (into `syscalls`) in `scratch[1]`;
// `map` returns the ArrayBuffer and stores the id in `scratch[0]`, so the hot
// path allocates no JavaScript object besides the buffer.
#include <napi.h>

#include <cstdint>
#include <cstdlib>
#include <new>
#include <string>

#include "fault.h"
#include "region.h"
#include "sys.h"
#include "table.h"

namespace pmm {

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
    "posix_fallocate",
    "VirtualAlloc",
    "mremap",
    "shm_open",
    "shm_unlink",
    "OpenFileMappingW",
};

namespace {

inline Env* EnvOf(const Napi::CallbackInfo& info) { return static_cast<Env*>(info.Data()); }

inline double Id(const Napi::Value& v) { return v.As<Napi::Number>().DoubleValue(); }
inline int64_t Int64(const Napi::Value& v) { return v.As<Napi::Number>().Int64Value(); }

inline Napi::Value Result(const Napi::CallbackInfo& info, int code, Sys sys) {
  if (code != 0) EnvOf(info)->scratch[1] = sys;
  return Napi::Number::New(info.Env(), code);
}

// The region of an id and a range [addr + offset, + length) of it, from (id, offset, length).
struct Range {
  Region* region;
  uint8_t* addr;
  size_t length;
};

inline bool RangeOf(const Napi::CallbackInfo& info, Range* out) {
  Region* r = table::Get(Id(info[0]));
  if (r == nullptr || r->released) return false;
  *out = {r, r->mapping.addr + Int64(info[1]), static_cast<size_t>(Int64(info[2]))};
  return true;
}

// A stale id: the API never sends one, except to unmap.
inline Napi::Value Stale(const Napi::CallbackInfo& info) { return Result(info, Invalid(), kNapi); }

// A new weak reference to a new object: when it is gone, a full collection ran.
void ArmSentinel(Env* e) {
  napi_value object;
  if (napi_create_object(e->env, &object) != napi_ok || napi_create_reference(e->env, object, 0, &e->sentinel) != napi_ok)
    e->sentinel = nullptr;
}

// Sweeps when a collection ran since the last sweep: it may have collected retired buffers.
void SweepIfCollected(Env* e) {
  if (e->retired_count == 0) return;
  napi_value value = nullptr;
  if (e->sentinel != nullptr && napi_get_reference_value(e->env, e->sentinel, &value) == napi_ok && value != nullptr)
    return;
  if (e->sentinel != nullptr) napi_delete_reference(e->env, e->sentinel);
  Sweep(e);
  ArmSentinel(e);
}

void FinalizeRegion(napi_env env, void* /*data*/, void* hint) {
  Region* r = static_cast<Region*>(hint);
  // Deno runs most finalizers on V8's sweeper threads: the region then goes
  // to its environment's thread, which alone touches the environment.
  if (!finalizers_deferred && QueueIfOffThread(r)) return;
  if (r->env == nullptr) return Finalize(r, false, nullptr);
  Finalize(r, MayNeedKeeping(r) && Early(r, env), env);
}

// Wakes the environment's thread to finalize what other threads queued.
void CallDrain(napi_env env, napi_value /*callback*/, void* context, void* /*data*/) {
  if (env == nullptr) return;  // the environment is going: FreeEnv finalizes the rest
  DrainFinalized(static_cast<Env*>(context), env);
}

bool Track(Env* e, Region* r) {
  if (e->retired_count == e->retired_capacity) {
    size_t capacity = e->retired_capacity == 0 ? 64 : e->retired_capacity * 2;
    Region** grown = static_cast<Region**>(std::realloc(e->retired, capacity * sizeof(Region*)));
    if (grown == nullptr) return false;
    e->retired = grown;
    e->retired_capacity = capacity;
  }
  e->retired[e->retired_count++] = r;
  return true;
}

// fileSize(fd): the size of a regular file, -1 for anything else, or -2 on
// failure with the error code in scratch[0] (the API's fast path for fstat).
Napi::Value FileSizeOf(const Napi::CallbackInfo& info) {
  double size = -1;
  Sys sys = kFstat;
  int code = FileSize(info[0].As<Napi::Number>().Int32Value(), &size, &sys);
  if (code != 0) {
    EnvOf(info)->scratch[0] = code;
    EnvOf(info)->scratch[1] = sys;
    return Napi::Number::New(info.Env(), -2);
  }
  return Napi::Number::New(info.Env(), size);
}

// reserve(fd, offset, length): 0 or an error code.
Napi::Value ReserveBlocks(const Napi::CallbackInfo& info) {
  Sys sys = kFallocate;
  int code = Reserve(info[0].As<Napi::Number>().Int32Value(), Int64(info[1]), Int64(info[2]), &sys);
  return Result(info, code, sys);
}

// Settles what collections and other threads have freed, before a new map.
void BeforeMap(napi_env env, Env* e) {
  SweepIfCollected(e);
  // Maps dropped in a loop that does not yield are finalized on Deno's
  // sweeper threads; settle them here too, not only when the loop yields.
  if (!finalizers_deferred) DrainFinalized(e, env);
}

// A new mapping becomes a region with an id and an external ArrayBuffer over
// it; the buffer is returned and the id stored in scratch[0]. `offset` is
// the file offset of its first byte, -1 without a file that can fault.
// Where that fails, the mapping is given back, or with `moved_from` its pages
// go back there (sys.h MoveBack).
Napi::Value Publish(const Napi::CallbackInfo& info, Mapping mapping, int64_t offset,
                    const Mapping* moved_from = nullptr) {
  napi_env env = info.Env();
  Env* e = EnvOf(info);
  Region* r = new (std::nothrow)
      Region{mapping, 0, e, nullptr, e->regions, nullptr, 0, true, false, false, false, false, false, false};
  if (r != nullptr) {
    r->id = table::Add(r, reinterpret_cast<uintptr_t>(mapping.addr), mapping.size, offset, mapping.flags & kWritable);
  }
  napi_value buffer;
  napi_status status = r == nullptr || r->id == 0
                           ? napi_generic_failure
                           : napi_create_external_arraybuffer(env, mapping.addr, mapping.size, FinalizeRegion, r, &buffer);
  if (status != napi_ok) {
    if (r != nullptr && r->id != 0) table::Remove(r->id);
    delete r;
    if (moved_from != nullptr)
      MoveBack(*moved_from, mapping);
    else
      Release(&mapping);
    bool pending = false;
    napi_is_exception_pending(env, &pending);
    if (pending) return Napi::Value();
    return Result(info, NoMemory(), kNapi);
  }
  if (e->regions != nullptr) e->regions->prev = r;
  e->regions = r;
  e->scratch[0] = r->id;
  // Without it (out of memory) unmap() cannot tell when the buffer is
  // collected and keeps the range for good, which is safe.
  if (napi_create_reference(env, buffer, 0, &r->buffer) != napi_ok) r->buffer = nullptr;
  return Napi::Value(env, buffer);
}

// map(fd, offset, length, flags): ArrayBuffer, or an error code. `flags` are
// sys.h Flags bits; Map itself does what kPopulate asks.
Napi::Value MapRegion(const Napi::CallbackInfo& info) {
  BeforeMap(info.Env(), EnvOf(info));
  int32_t flags = info[3].As<Napi::Number>().Int32Value();
  int64_t offset = Int64(info[1]);
  Mapping mapping;
  Sys sys = kMmap;
  int code = Map(info[0].As<Napi::Number>().Int32Value(), offset, static_cast<size_t>(Int64(info[2])), flags, &mapping,
                 &sys);
  if (code != 0) return Result(info, code, sys);
  return Publish(info, mapping, (flags & kAnon) ? -1 : offset);
}

// move(id, length): ArrayBuffer, or an error code (the API then copies). An
// anonymous map's pages move into a new map of `length` bytes (sys.h Move);
// the old map stays as it is but reads zeros, and is unmapped next as usual.
Napi::Value MoveRegion(const Napi::CallbackInfo& info) {
  Region* r = table::Get(Id(info[0]));
  if (r == nullptr || r->released || r->retired || r->unmapping || r->jobs != 0) return Stale(info);
  BeforeMap(info.Env(), EnvOf(info));
  Mapping mapping;
  Sys sys = kMremap;
  int code = Move(r->mapping, static_cast<size_t>(Int64(info[1])), &mapping, &sys);
  if (code != 0) return Result(info, code, sys);
  return Publish(info, mapping, -1, &r->mapping);
}

// Bits of the `how` argument of shmOpen and openSection.
enum SharedHow : int32_t { kCreate = 1, kExclusive = 2, kReadWrite = 4 };

#ifndef _WIN32
// shmOpen(name, how): 0 or an error code; the descriptor in scratch[0].
Napi::Value ShmOpenNamed(const Napi::CallbackInfo& info) {
  std::string name = info[0].As<Napi::String>().Utf8Value();
  int32_t how = info[1].As<Napi::Number>().Int32Value();
  int fd = -1;
  Sys sys = kShmOpen;
  int code = ShmOpen(name.c_str(), how & kCreate, how & kExclusive, how & kReadWrite, &fd, &sys);
  if (code == 0) EnvOf(info)->scratch[0] = fd;
  return Result(info, code, sys);
}

// shmUnlink(name): 0 or an error code.
Napi::Value ShmUnlinkNamed(const Napi::CallbackInfo& info) {
  std::string name = info[0].As<Napi::String>().Utf8Value();
  Sys sys = kShmUnlink;
  return Result(info, ShmUnlink(name.c_str(), &sys), sys);
}

// closeFd(fd): closes a descriptor shmOpen returned.
Napi::Value CloseDescriptor(const Napi::CallbackInfo& info) {
  CloseFd(info[0].As<Napi::Number>().Int32Value());
  return info.Env().Undefined();
}
#else
// openSection(name, how, size): [handle, size, created], or an error code.
Napi::Value OpenSectionNamed(const Napi::CallbackInfo& info) {
  std::u16string name = u"Local\\" + info[0].As<Napi::String>().Utf16Value();
  int32_t how = info[1].As<Napi::Number>().Int32Value();
  uint64_t size = static_cast<uint64_t>(Int64(info[2]));
  void* section = nullptr;
  uint64_t actual = 0;
  bool created = false;
  Sys sys = kOpenFileMapping;
  int code = OpenSection(reinterpret_cast<const wchar_t*>(name.c_str()), how & kCreate, how & kExclusive,
                         how & kReadWrite, size, &section, &actual, &created, &sys);
  if (code != 0) return Result(info, code, sys);
  Napi::Array out = Napi::Array::New(info.Env(), 3);
  // Kernel handles are small multiples of 4: a double holds them exactly.
  out.Set(0u, Napi::Number::New(info.Env(), static_cast<double>(reinterpret_cast<uintptr_t>(section))));
  out.Set(1u, Napi::Number::New(info.Env(), static_cast<double>(actual)));
  out.Set(2u, Napi::Boolean::New(info.Env(), created));
  return out;
}

inline void* SectionOf(const Napi::Value& v) {
  return reinterpret_cast<void*>(static_cast<uintptr_t>(v.As<Napi::Number>().Int64Value()));
}

// mapSection(handle, length, flags): ArrayBuffer, or an error code.
Napi::Value MapSectionView(const Napi::CallbackInfo& info) {
  BeforeMap(info.Env(), EnvOf(info));
  int32_t flags = info[2].As<Napi::Number>().Int32Value();
  Mapping mapping;
  Sys sys = kMapViewOfFile;
  int code = MapSection(SectionOf(info[0]), static_cast<size_t>(Int64(info[1])), flags, &mapping, &sys);
  if (code != 0) return Result(info, code, sys);
  return Publish(info, mapping, -1);
}

// closeSection(handle).
Napi::Value CloseSectionHandle(const Napi::CallbackInfo& info) {
  CloseSection(SectionOf(info[0]));
  return info.Env().Undefined();
}
#endif

// unmap(id, buffer, moved): 0 or an error code. Detaches the buffer unless
// its memory was moved out of it before, retires the region (zero pages in
// place) and keeps the address range until the buffer object is collected.
// If the buffer cannot be detached (Bun pins a buffer that native code is
// working on), nothing changes and the error is EBUSY.
Napi::Value Unmap(const Napi::CallbackInfo& info) {
  napi_env env = info.Env();
  Env* e = EnvOf(info);
  Region* r = table::Get(Id(info[0]));
  // Released already: the memory had moved to another buffer, which is gone.
  if (r == nullptr || r->released || r->retired) return Napi::Number::New(env, 0);
  napi_value buffer = info[1];
  bool moved = info[2].As<Napi::Boolean>().Value();
  // Retired before the detach: Bun and Deno run the finalizer inside it, and
  // a retired region is not given back until its buffer object is collected.
  r->retired = true;
  r->moved = moved;
  bool detached = false;
  napi_is_detached_arraybuffer(env, buffer, &detached);
  if (!detached && napi_detach_arraybuffer(env, buffer) != napi_ok) {
    r->retired = false;
    return Result(info, Busy(), kNapi);
  }
  r->unmapping = false;
  RetireInPlace(r);
  // Without a weak reference (out of memory) nothing can tell when the buffer
  // is gone: the range then stays reserved for good, which is safe too.
  if (r->buffer == nullptr && napi_create_reference(env, buffer, 0, &r->buffer) != napi_ok) {
    r->buffer = nullptr;
  } else if (!Track(e, r)) {
    napi_delete_reference(env, r->buffer);
    r->buffer = nullptr;
  } else {
    ReportRetired(e, static_cast<int64_t>(r->mapping.size));
  }
  return Napi::Number::New(env, 0);
}

// detach(buffer[, id]): detaches any ArrayBuffer; throws a TypeError if it
// cannot. With the id of the buffer's region: unmap() runs while flushes are
// pending, and the region must not be given back when they end, although the
// detach freed its memory (unmap(id, ...) retires it then).
Napi::Value Detach(const Napi::CallbackInfo& info) {
  Region* r = info.Length() > 1 ? table::Get(Id(info[1])) : nullptr;
  bool mark = r != nullptr && !r->released && !r->retired && !r->unmapping;
  if (mark) r->unmapping = true;  // before: Bun and Deno run the finalizer inside the detach
  if (napi_detach_arraybuffer(info.Env(), info[0]) != napi_ok) {
    if (mark) r->unmapping = false;
    Napi::TypeError::New(info.Env(), "napi_detach_arraybuffer failed").ThrowAsJavaScriptException();
  }
  return info.Env().Undefined();
}

// stopping(): the environment is about to be torn down (a worker's exit
// event). Notes which maps' memory may have moved, while that can still be
// told: at teardown Node detaches every buffer before its finalizer runs.
Napi::Value Stopping(const Napi::CallbackInfo& info) {
  Env* e = EnvOf(info);
  // What other threads finalized before now was an ordinary finalizer.
  if (!finalizers_deferred) DrainFinalized(e, e->env);
  SetStopping(e);
  for (Region* r = e->regions; r != nullptr; r = r->next) {
    if (r->retired || r->unmapping || r->released) continue;
    // Moved: the map's own buffer is alive and detached. A collected buffer
    // counts as not moved: far more often its finalizer is merely pending
    // (maps dropped before the worker ends) than its memory moved away and
    // posted to another thread (docs/safety.md says so).
    napi_value value = nullptr;
    bool detached = false;
    if (r->buffer != nullptr && napi_get_reference_value(e->env, r->buffer, &value) == napi_ok && value != nullptr)
      napi_is_detached_arraybuffer(e->env, value, &detached);
    r->moved = detached;
  }
  return info.Env().Undefined();
}

// sweep(): settles retired regions whose buffers were collected; returns how many still wait.
Napi::Value SweepNow(const Napi::CallbackInfo& info) {
  Env* e = EnvOf(info);
  size_t waiting = Sweep(e);
  return Napi::Number::New(info.Env(), static_cast<double>(waiting));
}

// fault(id): the file offset of the first page that faulted, or -1.
Napi::Value Fault(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), static_cast<double>(table::FaultAt(Id(info[0]))));
}

// flush(id, offset, length): 0 or an error code.
Napi::Value FlushRange(const Napi::CallbackInfo& info) {
  Range range;
  if (!RangeOf(info, &range)) return Stale(info);
  Sys sys = kMsync;
  int code = Flush(range.region->mapping, range.addr, range.length, &sys);
  return Result(info, code, sys);
}

struct FlushJob {
  napi_async_work work;
  napi_deferred deferred;
  Region* region;
  uint8_t* addr;
  size_t length;
  int code;
  Sys sys;
};

void FlushExecute(napi_env /*env*/, void* data) {
  FlushJob* job = static_cast<FlushJob*>(data);
  job->code = Flush(job->region->mapping, job->addr, job->length, &job->sys);
}

void FlushComplete(napi_env env, napi_status status, void* data) {
  FlushJob* job = static_cast<FlushJob*>(data);
  Region* r = job->region;
  r->jobs--;
  Settle(r, r->env != nullptr ? env : nullptr);
  if (status != napi_ok && job->code == 0) {
    job->code = Invalid();
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

// flushAsync(id, offset, length): a Promise that rejects with [code, syscall index], or an error code.
Napi::Value FlushAsync(const Napi::CallbackInfo& info) {
  napi_env env = info.Env();
  Range range;
  if (!RangeOf(info, &range)) return Stale(info);
  FlushJob* job = new (std::nothrow) FlushJob{nullptr, nullptr, range.region, range.addr, range.length, 0, kMsync};
  if (job == nullptr) return Result(info, NoMemory(), kNapi);
  napi_value promise, name;
  if (napi_create_promise(env, &job->deferred, &promise) != napi_ok) {
    delete job;
    return Result(info, NoMemory(), kNapi);
  }
  if (napi_create_string_utf8(env, "portable-mmap:flush", NAPI_AUTO_LENGTH, &name) != napi_ok ||
      napi_create_async_work(env, nullptr, name, FlushExecute, FlushComplete, job, &job->work) != napi_ok) {
    // The deferred stays unresolved; the promise is dropped.
    delete job;
    return Result(info, NoMemory(), kNapi);
  }
  if (napi_queue_async_work(env, job->work) != napi_ok) {
    napi_delete_async_work(env, job->work);
    delete job;
    return Result(info, NoMemory(), kNapi);
  }
  range.region->jobs++;
  return Napi::Value(env, promise);
}

// lock(id, offset, length), unlock(...): 0 or an error code.
Napi::Value LockRange(const Napi::CallbackInfo& info) {
  Range range;
  if (!RangeOf(info, &range)) return Stale(info);
  Sys sys = kMlock;
  return Result(info, Lock(range.addr, range.length, &sys), sys);
}

Napi::Value UnlockRange(const Napi::CallbackInfo& info) {
  Range range;
  if (!RangeOf(info, &range)) return Stale(info);
  Sys sys = kMunlock;
  return Result(info, Unlock(range.addr, range.length, &sys), sys);
}

// advise(id, offset, length, advice): advice 0..4 is normal, random, sequential, willneed, dontneed.
Napi::Value AdviseRange(const Napi::CallbackInfo& info) {
  Range range;
  if (!RangeOf(info, &range)) return Stale(info);
  Sys sys = kMadvise;
  return Result(info, Advise(range.addr, range.length, info[3].As<Napi::Number>().Int32Value(), &sys), sys);
}

// protect(id, offset, length, flags): kWritable and kExec bits. 0 or an error code.
Napi::Value ProtectRange(const Napi::CallbackInfo& info) {
  Range range;
  if (!RangeOf(info, &range)) return Stale(info);
  int32_t flags = info[3].As<Napi::Number>().Int32Value();
  Sys sys = kMprotect;
  int code = Protect(range.region->mapping, range.addr, range.length, flags & kWritable, flags & kExec, &sys);
  // A zero page the fault handler puts in gets the same protection (the API protects whole maps).
  if (code == 0) table::SetWritable(range.region->id, flags & kWritable);
  return Result(info, code, sys);
}

// residency(id, offset, length, out: Uint8Array of one byte per page): 0 or an error code.
Napi::Value ResidencyOf(const Napi::CallbackInfo& info) {
  Range range;
  if (!RangeOf(info, &range)) return Stale(info);
  Sys sys = kMincore;
  return Result(info, Residency(range.addr, range.length, info[3].As<Napi::Uint8Array>().Data(), &sys), sys);
}

void ProbeFinalized(napi_env /*env*/, void* data, void* hint) {
  std::free(data);
  *static_cast<bool*>(hint) = true;
}

// Whether the global object has a property `name`.
bool HasGlobal(napi_env env, const char* name) {
  napi_value global;
  bool has = false;
  return napi_get_global(env, &global) == napi_ok && napi_has_named_property(env, global, name, &has) == napi_ok && has;
}

// Whether `process.versions` has a property `name` (Bun and Deno add their own).
bool HasVersion(napi_env env, const char* name) {
  napi_value global, process, versions;
  bool has = false;
  return napi_get_global(env, &global) == napi_ok && napi_get_named_property(env, global, "process", &process) == napi_ok &&
         napi_get_named_property(env, process, "versions", &versions) == napi_ok &&
         napi_has_named_property(env, versions, name, &has) == napi_ok && has;
}

// Bun or Deno, by any sign of either: their global (a program can delete
// `Deno`), or their entry in process.versions. A false "yes" (a shim that
// defines `Deno` on Node) only costs the probe's detach; a false "no" would
// get the finalizers wrong, so every sign counts.
bool MaybeBunOrDeno(napi_env env) {
  bool maybe = HasGlobal(env, "Bun") || HasGlobal(env, "Deno") || HasVersion(env, "bun") || HasVersion(env, "deno");
  bool pending = false;
  napi_is_exception_pending(env, &pending);  // a throwing getter on `process`: clear it, and probe
  if (pending) {
    napi_value ignored;
    napi_get_and_clear_last_exception(env, &ignored);
    return true;
  }
  return maybe;
}

// napi_ok, or why the runtime refuses external ArrayBuffers (for example
// napi_no_external_buffers_allowed inside Electron's memory cage). On Bun and
// Deno, also finds out whether detaching runs the finalizer at once. Node
// (every version from 20 to 26 measured) runs it later, and is not asked: a
// detach, any detach, makes V8 check for detached buffers in every optimized
// typed-array loop of the process from then on (its ArrayBufferDetaching
// protector), 1.5x to 2.5x slower loops, and loading the addon must not.
int ProbeExternalBuffers(napi_env env) {
  static bool finalized = false;
  void* byte = std::malloc(1);
  if (byte == nullptr) return napi_generic_failure;
  napi_value buffer;
  finalized = false;
  napi_status status = napi_create_external_arraybuffer(env, byte, 1, ProbeFinalized, &finalized, &buffer);
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
  if (!MaybeBunOrDeno(env)) return napi_ok;  // finalizers_deferred stays true
  napi_detach_arraybuffer(env, buffer);
  finalizers_deferred = !finalized;
  return napi_ok;
}

// The environment is torn down (its thread ends): no JavaScript can reach its
// retired buffers any more, so their ranges are given back; regions still
// mapped are given back by their finalizers (which ran before this), unless
// their memory may have moved (Finalize). A region a flush may still
// be using (a runtime that does not wait for it) is retired and kept.
void FreeEnv(napi_env env, void* data, void* /*hint*/) {
  Env* e = static_cast<Env*>(data);
  // Held to the end: a finalizer on another thread must find its region's
  // environment either whole or gone (r->env == nullptr), never half torn down.
  std::lock_guard<std::mutex> lock(FinalizerMutex());
  FinalizeQueued(e->finalized, env);
  e->finalized = nullptr;
  if (e->wake != nullptr) napi_release_threadsafe_function(e->wake, napi_tsfn_abort);
  e->wake = nullptr;
  for (Region* r = e->regions; r != nullptr;) {
    Region* next = r->next;
    r->env = nullptr;
    r->prev = r->next = nullptr;
    if (!r->released && r->unmapping && r->jobs == 0) {
      // unmap() ran during a flush that has ended, and the environment ends
      // before the unmap could finish: nothing can use the memory any more.
      r->unmapping = false;
      r->retired = true;
      r->buffer_dead = true;
      Settle(r, nullptr);
    } else if (!r->released && r->jobs != 0) {
      KeepForGood(r);
    } else if (r->retired && !r->released && !r->kept) {
      r->buffer_dead = true;
      Settle(r, nullptr);
    }
    r = next;
  }
  std::free(e->retired);
  napi_delete_reference(env, e->scratch_ref);
  delete e;
}

Napi::Object Exports(Napi::Env env, Napi::Object exports) {
  Env* e = new Env{env, nullptr, nullptr, nullptr, nullptr, 0, 0, nullptr, 0, 0, false};
  napi_value scratch_buffer;
  void* scratch_data;
  napi_create_arraybuffer(env, 2 * sizeof(double), &scratch_data, &scratch_buffer);
  napi_create_reference(env, scratch_buffer, 1, &e->scratch_ref);
  e->scratch = static_cast<double*>(scratch_data);
  int external = ProbeExternalBuffers(env);
  // PORTABLE_MMAP_SIGBUS=0 leaves SIGBUS alone (an embedder with handlers of its own).
  const char* sigbus = std::getenv("PORTABLE_MMAP_SIGBUS");
  bool faults = (sigbus == nullptr || std::string(sigbus) != "0") && InstallFaultHandler();
  ArmSentinel(e);
  if (!finalizers_deferred) {
    napi_value name;
    if (napi_create_string_utf8(env, "portable-mmap:finalized", NAPI_AUTO_LENGTH, &name) != napi_ok ||
        napi_create_threadsafe_function(env, nullptr, nullptr, name, 0, 1, nullptr, nullptr, e, CallDrain, &e->wake) !=
            napi_ok) {
      e->wake = nullptr;  // queued regions then wait for the environment's end
    } else {
      napi_unref_threadsafe_function(env, e->wake);
    }
  }
  napi_set_instance_data(env, e, FreeEnv, nullptr);

  Napi::Array syscalls = Napi::Array::New(env, kSysCount);
  for (uint32_t i = 0; i < kSysCount; i++) syscalls.Set(i, kSyscalls[i]);

  // What src/backends/addon.ts checks before using the addon: bumped whenever
  // the calls or the meaning of their arguments change (2: the kPopulate flag),
  // so that an addon built from older sources is refused rather than
  // silently ignoring what it does not know.
  exports.Set("interfaceVersion", Napi::Number::New(env, 2));
  exports.Set("scratch", Napi::Float64Array::New(env, 2, Napi::ArrayBuffer(env, scratch_buffer), 0));
  exports.Set("syscalls", syscalls);
  exports.Set("pageSize", Napi::Number::New(env, static_cast<double>(PageSize())));
  exports.Set("allocationGranularity", Napi::Number::New(env, static_cast<double>(Granularity())));
  exports.Set("externalBuffers", Napi::Number::New(env, external));
  exports.Set("finalizersDeferred", Napi::Boolean::New(env, finalizers_deferred));
  exports.Set("handlesFaults", Napi::Boolean::New(env, faults));
#ifdef _WIN32
  exports.Set("windows", Napi::Boolean::New(env, true));
  exports.Set("retiresInPlace", Napi::Boolean::New(env, win::PlaceholdersWork()));
#else
  exports.Set("windows", Napi::Boolean::New(env, false));
  exports.Set("retiresInPlace", Napi::Boolean::New(env, true));
#endif
  if (external == napi_ok) {
    // The process-wide counters, read by JavaScript without a call; never freed.
    napi_value counters;
    napi_create_external_arraybuffer(env, table::counters, sizeof(table::counters), nullptr, nullptr, &counters);
    exports.Set("counters", Napi::Int32Array::New(env, table::kCounterCount, Napi::ArrayBuffer(env, counters), 0));
  }
  struct Entry {
    const char* name;
    Napi::Value (*fn)(const Napi::CallbackInfo&);
  };
  const Entry entries[] = {{"map", MapRegion},        {"move", MoveRegion}, {"unmap", Unmap},         {"detach", Detach},
                           {"sweep", SweepNow},       {"fault", Fault},         {"flush", FlushRange},
                           {"flushAsync", FlushAsync}, {"lock", LockRange},     {"unlock", UnlockRange},
                           {"advise", AdviseRange},   {"protect", ProtectRange}, {"residency", ResidencyOf},
                           {"reserve", ReserveBlocks}, {"stopping", Stopping}};
  for (const Entry& entry : entries) exports.Set(entry.name, Napi::Function::New(env, entry.fn, entry.name, e));
  if (FileSizeUsable()) exports.Set("fileSize", Napi::Function::New(env, FileSizeOf, "fileSize", e));
#ifndef _WIN32
  exports.Set("shmOpen", Napi::Function::New(env, ShmOpenNamed, "shmOpen", e));
  exports.Set("shmUnlink", Napi::Function::New(env, ShmUnlinkNamed, "shmUnlink", e));
  exports.Set("closeFd", Napi::Function::New(env, CloseDescriptor, "closeFd", e));
#else
  exports.Set("openSection", Napi::Function::New(env, OpenSectionNamed, "openSection", e));
  exports.Set("mapSection", Napi::Function::New(env, MapSectionView, "mapSection", e));
  exports.Set("closeSection", Napi::Function::New(env, CloseSectionHandle, "closeSection", e));
#endif
  return exports;
}

}  // namespace

}  // namespace pmm

static Napi::Object Init(Napi::Env env, Napi::Object exports) { return pmm::Exports(env, exports); }

NODE_API_MODULE(portable_mmap, Init)

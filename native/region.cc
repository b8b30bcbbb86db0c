// The lifetime rules of region.h.
#include "region.h"

#include "table.h"

namespace pmm {

bool finalizers_deferred = true;

namespace {

// Retired address space is reported to the garbage collector only beyond
// this much: below it a synchronous map/unmap loop costs no collections, and
// the reservations are zero pages that use no memory.
constexpr int64_t kUnreportedRetired = int64_t{1} << 30;

bool MayRelease(const Region* r) {
  if (r->released || r->kept || r->jobs != 0) return false;
  if (!r->retired) return !r->store_alive && !r->unmapping;
  if (!r->buffer_dead) return false;
  // A buffer that was not moved had its memory freed when unmap() detached
  // it; a runtime that defers the finalizer only says so later.
  return !r->store_alive || (finalizers_deferred && !r->moved);
}

void Unlink(Region* r) {
  if (r->env == nullptr) return;
  if (r->prev != nullptr) r->prev->next = r->next;
  else r->env->regions = r->next;
  if (r->next != nullptr) r->next->prev = r->prev;
  r->prev = r->next = nullptr;
}

}  // namespace

void RetireInPlace(Region* r) {
  Sys sys = kMmap;
  Retire(&r->mapping, &sys);
  table::Retire(r->id);
  r->retired = true;
}

void KeepForGood(Region* r) {
  if (!r->retired) RetireInPlace(r);
  r->kept = true;
}

void ReportRetired(Env* e, int64_t delta) {
  e->retired_bytes += delta;
  int64_t want = e->retired_bytes > kUnreportedRetired ? e->retired_bytes - kUnreportedRetired : 0;
  if (want == e->reported_bytes || e->env == nullptr) return;
  int64_t ignored;
  if (napi_adjust_external_memory(e->env, want - e->reported_bytes, &ignored) == napi_ok) e->reported_bytes = want;
}

void Settle(Region* r, napi_env napi) {
  Env* e = r->env;
  if (MayRelease(r)) {
    table::Remove(r->id);  // first: no fault handler may touch the range once it is given back
    Release(&r->mapping);
    r->released = true;
    if (r->retired && e != nullptr && napi != nullptr) ReportRetired(e, -static_cast<int64_t>(r->mapping.size));
  }
  if (r->released && !r->store_alive && r->jobs == 0) {
    if (r->buffer != nullptr && napi != nullptr) napi_delete_reference(napi, r->buffer);
    Unlink(r);
    delete r;
  }
}

std::mutex& FinalizerMutex() {
  static std::mutex mutex;
  return mutex;
}

bool Early(Region* r, napi_env napi) {
  if (!finalizers_deferred) return r->env->stopping;
  napi_value global;
  bool has = false;
  return napi_get_global(napi, &global) != napi_ok ||
         napi_has_named_property(napi, global, "undefined", &has) != napi_ok;
}

bool MayNeedKeeping(const Region* r) {
  if (r->kept || r->released || r->unmapping) return false;
  return !r->retired || r->moved;  // retired, not moved: its memory was freed when unmap() detached it
}

void Finalize(Region* r, bool early, napi_env napi) {
  // Retired: moved before unmap(). Not retired: as noted when the worker's
  // exit event ran; without that event (worker.terminate()) it cannot be
  // told, and the range is kept.
  if (early && MayNeedKeeping(r) && !(!r->retired && r->env->stopping && !r->moved)) KeepForGood(r);
  r->store_alive = false;
  Settle(r, napi);
}

bool QueueIfOffThread(Region* r) {
  std::lock_guard<std::mutex> lock(FinalizerMutex());
  Env* e = r->env;
  if (e == nullptr || std::this_thread::get_id() == e->thread) return false;
  r->finalized_early = e->stopping;  // what Early() says on a runtime whose finalizers are not deferred
  r->next_finalized = e->finalized;
  e->finalized = r;
  if (r->next_finalized == nullptr && e->wake != nullptr)
    napi_call_threadsafe_function(e->wake, nullptr, napi_tsfn_nonblocking);
  return true;
}

void FinalizeQueued(Region* list, napi_env napi) {
  while (list != nullptr) {
    Region* r = list;
    list = r->next_finalized;  // before: Settle may free r
    Finalize(r, r->finalized_early, napi);
  }
}

void DrainFinalized(Env* e, napi_env napi) {
  Region* list;
  {
    std::lock_guard<std::mutex> lock(FinalizerMutex());
    list = e->finalized;
    e->finalized = nullptr;
  }
  FinalizeQueued(list, napi);
}

void SetStopping(Env* e) {
  std::lock_guard<std::mutex> lock(FinalizerMutex());
  e->stopping = true;
}

size_t Sweep(Env* e) {
  size_t kept = 0;
  for (size_t i = 0; i < e->retired_count; i++) {
    Region* r = e->retired[i];
    napi_value value = nullptr;
    if (napi_get_reference_value(e->env, r->buffer, &value) != napi_ok || value != nullptr) {
      e->retired[kept++] = r;
      continue;
    }
    napi_delete_reference(e->env, r->buffer);
    r->buffer = nullptr;
    r->buffer_dead = true;
    Settle(r, e->env);
  }
  e->retired_count = kept;
  return kept;
}

}  // namespace pmm

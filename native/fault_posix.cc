// The SIGBUS handler of fault.h. Everything reachable from Handler() obeys
// the rules of signal handlers: no locks, no allocation, no stdio, no
// thread_local (a dlopen'ed addon's TLS may be allocated lazily); only
// lock-free atomics (in table.cc) and async-signal-safe calls (a raw mmap
// system call, sigaction, sigprocmask, raise); errno is kept. The addon
// is linked with -z now (no lazy binding inside the handler) and -z nodelete
// (Node unloads a worker's addons when it exits; a handler in unloaded code
// would turn the next SIGBUS into a crash elsewhere).
#include "fault.h"

#if defined(__linux__)

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <mutex>

#include "table.h"

namespace pmm {

namespace {

uintptr_t page_size = 4096;

// The raw system call rather than libc's mmap(): musl's waits on a
// process-wide lock for MAP_FIXED, which the signal may have interrupted.
// Every argument goes as a long: syscall() is variadic.
bool ZeroPages(uintptr_t at, size_t length, bool writable) {
  long prot = PROT_READ | (writable ? PROT_WRITE : 0);
  long flags = MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED | MAP_NORESERVE;
  long result = syscall(SYS_mmap, static_cast<long>(at), static_cast<long>(length), prot, flags, -1L, 0L);
  return result != -1;
}

// What was installed before; written before our handler goes live (index 0)
// and, if someone changed it meanwhile, right after (index 1).
struct sigaction previous[2];
std::atomic<int> previous_index{-1};

void Handler(int sig, siginfo_t* info, void* context);

// Faults (si_code > 0) repeat when the instruction runs again; sent signals do not.
bool Repeats(const siginfo_t* info) {
  if (info == nullptr || info->si_code <= 0) return false;
  return info->si_code == BUS_ADRALN || info->si_code == BUS_ADRERR || info->si_code == BUS_OBJERR
#ifdef BUS_MCEERR_AR
         || info->si_code == BUS_MCEERR_AR
#endif
      ;
}

void ResetToDefault(int sig) {
  struct sigaction dfl;
  memset(&dfl, 0, sizeof dfl);
  dfl.sa_handler = SIG_DFL;
  sigemptyset(&dfl.sa_mask);
  sigaction(sig, &dfl, nullptr);
}

// Hands the signal on as the kernel would have delivered it without us.
void Chain(int sig, siginfo_t* info, void* context) {
  int index = previous_index.load(std::memory_order_acquire);
  const struct sigaction* prev = index < 0 ? nullptr : &previous[index];
  void (*raw)(int) = prev == nullptr ? SIG_DFL : prev->sa_handler;  // shares storage with sa_sigaction
  // Our own handler as "previous" (this code loaded twice at one address) would loop forever.
  if (prev != nullptr && (prev->sa_flags & SA_SIGINFO) && prev->sa_sigaction == Handler) raw = SIG_DFL;
  if (raw == SIG_IGN) {
    // A sent SIGBUS stays ignored; a fault cannot be ignored (the kernel kills), so neither here.
    if (info == nullptr || info->si_code <= 0) return;
    raw = SIG_DFL;
  }
  if (raw == SIG_DFL) {
    // Die from the real fault: restore the default and let the instruction fault
    // again (a sent signal is raised again; it stays pending until we return).
    ResetToDefault(sig);
    if (!Repeats(info)) raise(sig);
    return;
  }
  // A real handler: with the mask the kernel would have given it.
  sigset_t mask;
  sigemptyset(&mask);
  const ucontext_t* uc = static_cast<const ucontext_t*>(context);
  for (int s = 1; s < NSIG; s++) {
    if ((uc != nullptr && sigismember(&uc->uc_sigmask, s) == 1) || sigismember(&prev->sa_mask, s) == 1) {
      sigaddset(&mask, s);
    }
  }
  if (!(prev->sa_flags & SA_NODEFER)) sigaddset(&mask, sig);
  // sigprocmask: the calling thread's mask on Linux, and in glibc 2.28 (pthread_sigmask moved to libc only in 2.32).
  sigprocmask(SIG_SETMASK, &mask, nullptr);
  // Crash reporters installed with SA_RESETHAND return and rely on the repeated fault to end the process.
  if (prev->sa_flags & SA_RESETHAND) ResetToDefault(sig);
  if (prev->sa_flags & SA_SIGINFO) prev->sa_sigaction(sig, info, context);
  else prev->sa_handler(sig);
}

void Handler(int sig, siginfo_t* info, void* context) {
  int saved_errno = errno;
  // Only BUS_ADRERR is "no page for this address" (past the end of the file,
  // ENOSPC, EIO); never an alignment fault (a zero page would not help), a
  // hardware memory error, or a sent signal (its address means nothing).
  bool recovered = sig == SIGBUS && info != nullptr && info->si_code == BUS_ADRERR &&
                   table::RecoverFault(reinterpret_cast<uintptr_t>(info->si_addr), page_size, ZeroPages);
  if (!recovered) Chain(sig, info, context);
  errno = saved_errno;
}

}  // namespace

bool InstallFaultHandler() {
  static std::mutex mutex;
  static int result = -1;
  std::lock_guard<std::mutex> lock(mutex);
  if (result >= 0) return result == 0;
  long size = sysconf(_SC_PAGESIZE);
  if (size > 0) page_size = static_cast<uintptr_t>(size);
  struct sigaction ours;
  memset(&ours, 0, sizeof ours);
  ours.sa_sigaction = Handler;
  // SA_SIGINFO for the address and code; SA_ONSTACK to run on a thread's
  // alternate stack where it has one (handlers chained to expect it);
  // SA_RESTART so a sent signal passed on does not interrupt system calls.
  // Not SA_NODEFER: a fault inside the handler ends the process, never recurses.
  ours.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_RESTART;
  sigemptyset(&ours.sa_mask);
  if (sigaction(SIGBUS, nullptr, &previous[0]) != 0) return (result = errno) == 0;
  previous_index.store(0, std::memory_order_release);
  struct sigaction replaced;
  if (sigaction(SIGBUS, &ours, &replaced) != 0) return (result = errno) == 0;
  if (replaced.sa_handler != previous[0].sa_handler || replaced.sa_flags != previous[0].sa_flags) {
    previous[1] = replaced;
    previous_index.store(1, std::memory_order_release);
  }
  result = 0;
  return true;
}

}  // namespace pmm

#else  // not Linux

namespace pmm {

// macOS delivers protection faults as SIGBUS too, with codes that do not tell
// them from a truncated file, and the BSDs are untested: not covered yet.
bool InstallFaultHandler() { return false; }

}  // namespace pmm

#endif

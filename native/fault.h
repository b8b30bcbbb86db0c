// Recovering from SIGBUS in the addon's own file mappings (Linux): another
// process truncated the file, or a page of a sparse file could not be
// allocated (full disk) or read (I/O error). The handler puts a zero page
// over the faulting page and records the fault in the table (table.h), so
// the access completes (reads zeros, writes go nowhere) and the map's next
// call in JavaScript throws ERR_MMAP_FAULT. Any other SIGBUS goes to the
// handler installed before, as if this one were not there.
#ifndef PORTABLE_MMAP_FAULT_H_
#define PORTABLE_MMAP_FAULT_H_

namespace pmm {

// Installs the handler once per process (later calls return the first
// result); never uninstalled, since others may have chained to it since.
// Returns whether it is installed. False where the platform is not covered
// (macOS, the BSDs: a SIGBUS there still ends the process).
bool InstallFaultHandler();

}  // namespace pmm

#endif  // PORTABLE_MMAP_FAULT_H_

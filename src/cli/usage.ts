/**
 * The help text of `portable-mmap`.
 *
 * @module
 */

/** What `portable-mmap --help` prints. */
export const usage = `usage: portable-mmap <command>

commands:
  info          the package version, the runtime, the selected backend, where the
                native addon was loaded from, each backend's availability and
                capabilities, and for each backend that does not load why and
                possible solutions
  info --json   the same as one JSON object (docs/troubleshooting.md describes it)
  check         map a temporary file with every backend that loads and check
                read/write/flush/unmap, flushAsync, advise, residency, lock and
                sharing with another process; exits 1 if something fails or a
                backend that should load here does not
  --version     print the package version
  --help        print this text

exit status: 0 success, 1 a failure (check), 2 a usage error`;

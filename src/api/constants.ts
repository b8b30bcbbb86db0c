/**
 * Protection and flag values, the same numbers as Go's mmap-go so that its
 * users recognise them.
 */

/** Map read-only. A stray write never faults the process; it changes only this process's view. */
export const RDONLY = 0;
/** Map read-write; writes reach the file (after `flush()`, or at `unmap()` at the latest). */
export const RDWR = 2;
/** Map copy-on-write; writes stay in this process and never reach the file. */
export const COPY = 4;
/** Also allow executing the mapped bytes; combines with RDONLY, RDWR or COPY. */
export const EXEC = 8;
/** Flag: map zero-filled anonymous memory, not a file (`file` is ignored, `length` must be > 0). */
export const ANON = 1;
/**
 * Flag: prefault the pages at map time, so that the first reads do not wait
 * for the disk (or for page faults) later. Taken by {@link mapRegion} (alone
 * or as `ANON | POPULATE`), {@link map} and {@link mapFile} (`flags: POPULATE`
 * or `populate: true`). This library's own: mmap-go has no such flag.
 *
 * What it does on each system:
 * - Linux, shared (`RDWR`) file maps: `MAP_POPULATE`; the pages are read in
 *   and mapped before `map` returns.
 * - Linux, private (`RDONLY`, `COPY`) file maps: `madvise(MADV_POPULATE_READ)`
 *   (Linux 5.14+), which maps the file's pages without copying them; on older
 *   kernels `madvise(MADV_WILLNEED)`, which starts reading them in.
 *   (`MAP_POPULATE` is not used there: on a private writable mapping it makes
 *   the kernel copy every page into anonymous memory.)
 * - Linux, anonymous maps: `MAP_POPULATE`; the zero pages are allocated now.
 * - macOS, FreeBSD and other POSIX systems: `madvise(MADV_WILLNEED)`, which
 *   starts reading the pages in.
 * - Windows: `PrefetchVirtualMemory` (Windows 8 and later; nothing before),
 *   which reads the pages into physical memory with large I/O requests, so
 *   that touching them later needs no disk read.
 * - The fallback backend: nothing to do, it reads the whole region at map time anyway.
 *
 * It is a hint: where it fails (an old kernel, a system without the call)
 * the map is made all the same and nothing is reported; it never changes
 * the bytes. It makes `map` take as long as reading the region does. It is
 * followed only for a region of at most half the memory available at map
 * time (the system's, within the process's control group limit): beyond
 * that, prefaulting anonymous memory or a sparse file of a memory file
 * system (tmpfs, /dev/shm) would allocate more than there is, and the
 * kernel would end the process; and the first pages of a larger region
 * would be evicted before the last were read.
 */
export const POPULATE = 2;

/**
 * A protection `map`, `mapRegion` and `mapFile` take: `RDONLY`, `RDWR` or
 * `COPY`, alone or with `EXEC` (`RDONLY | EXEC` is 8, `RDWR | EXEC` 10,
 * `COPY | EXEC` 12). Also the type of {@link MMap.prot}.
 */
export type Prot = typeof RDONLY | typeof RDWR | typeof COPY | 8 | 10 | 12;

/** A protection {@link MMap.protect} takes: `RDONLY` or `RDWR`, alone or with `EXEC` (`COPY` cannot be set later). */
export type PageProt = typeof RDONLY | typeof RDWR | 8 | 10;

/**
 * The flags of {@link mapRegion}: 0, `ANON`, `POPULATE` or `ANON | POPULATE`
 * (3). Also the type of {@link MMap.flags}.
 */
export type MapFlags = 0 | typeof ANON | typeof POPULATE | 3;

/**
 * The flags of {@link map} and {@link mapFile}: 0 or `POPULATE` (`ANON` needs
 * a length and has no file, so only {@link mapRegion} takes it).
 */
export type FileMapFlags = 0 | typeof POPULATE;

/**
 * The type of a `prot` or `flags` argument, given the type `N` of what is
 * passed: a number literal (or union of them) must be one of `Allowed`, so
 * that `prot: 3` is a type error; an expression TypeScript types as plain
 * `number` passes and is checked at run time. (TypeScript types `RDWR | EXEC`
 * as `number`, as it does every bitwise operation.) The type parameter is
 * inferred; there is no need to write it.
 *
 * @typeParam N The type of the argument, inferred.
 * @typeParam Allowed The values a literal may have: {@link Prot}, {@link PageProt}, {@link MapFlags} or {@link FileMapFlags}.
 */
export type Checked<N extends number, Allowed extends number> = number extends N
  ? number
  : N extends Allowed
    ? N
    : Allowed;

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
 * A protection `map`, `mapRegion` and `mapFile` take: `RDONLY`, `RDWR` or
 * `COPY`, alone or with `EXEC` (`RDONLY | EXEC` is 8, `RDWR | EXEC` 10,
 * `COPY | EXEC` 12). Also the type of {@link MMap.prot}.
 */
export type Prot = typeof RDONLY | typeof RDWR | typeof COPY | 8 | 10 | 12;

/** A protection {@link MMap.protect} takes: `RDONLY` or `RDWR`, alone or with `EXEC` (`COPY` cannot be set later). */
export type PageProt = typeof RDONLY | typeof RDWR | 8 | 10;

/** The flags of {@link mapRegion}: 0 or `ANON`. Also the type of {@link MMap.flags}. */
export type MapFlags = 0 | typeof ANON;

/**
 * The type of a `prot` or `flags` argument, given the type `N` of what is
 * passed: a number literal (or union of them) must be one of `Allowed`, so
 * that `prot: 3` is a type error; an expression TypeScript types as plain
 * `number` passes and is checked at run time. (TypeScript types `RDWR | EXEC`
 * as `number`, as it does every bitwise operation.) The type parameter is
 * inferred; there is no need to write it.
 *
 * @typeParam N The type of the argument, inferred.
 * @typeParam Allowed The values a literal may have: {@link Prot}, {@link PageProt} or {@link MapFlags}.
 */
export type Checked<N extends number, Allowed extends number> = number extends N
  ? number
  : N extends Allowed
    ? N
    : Allowed;

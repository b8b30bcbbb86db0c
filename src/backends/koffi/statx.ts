/**
 * Linux: the size check of `map` through `statx`, one FFI call, instead of
 * Node's `fstatSync` (which builds a Stats object and costs several times
 * more per map). `struct statx` has the same layout on every architecture.
 *
 * @module
 */
import { systemError } from "../../api/errors.js";
import type { Koffi } from "./types.js";

const AT_FDCWD = -100; // linux/fcntl.h
const AT_EMPTY_PATH = 0x1000; // linux/fcntl.h
const STATX_TYPE = 0x1; // linux/stat.h
const STATX_SIZE = 0x200; // linux/stat.h
const STX_MODE = 28; // linux/stat.h: offset of __u16 stx_mode in struct statx
const STX_SIZE = 40; // linux/stat.h: offset of __u64 stx_size
const S_IFMT = 0o170000; // linux/stat.h
const S_IFREG = 0o100000; // linux/stat.h

/**
 * `fileSize(fd)` for the backend contract (errors name `fstat`, as the other backends' do) (the size of a regular file, -1 for
 * anything else), or undefined where the C library has no `statx` or the
 * kernel refuses it (old kernels, some seccomp profiles): the API then uses `fstatSync`.
 */
export function bindFileSize(koffi: Koffi, lib: ReturnType<Koffi["load"]>): ((fd: number) => number) | undefined {
  let statx: (dirfd: number, path: string, flags: number, mask: number, out: Uint8Array) => number;
  try {
    statx = lib.func("int statx(int dirfd, const char *path, int flags, unsigned int mask, void *buf)");
  } catch {
    return undefined;
  }
  const buf = new Uint8Array(256); // sizeof(struct statx)
  const view = new DataView(buf.buffer);
  const little = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
  if (statx(AT_FDCWD, "/", 0, STATX_TYPE, buf) !== 0) return undefined;
  return (fd: number): number => {
    if (statx(fd, "", AT_EMPTY_PATH, STATX_TYPE | STATX_SIZE, buf) !== 0) throw systemError(koffi.errno(), "fstat");
    if ((view.getUint16(STX_MODE, little) & S_IFMT) !== S_IFREG) return -1;
    return Number(view.getBigUint64(STX_SIZE, little));
  };
}

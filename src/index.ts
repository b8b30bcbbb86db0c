/**
 * portable-mmap: real memory-mapped files for Node.js, Bun and Deno.
 *
 * ```ts
 * import { mapFile, RDWR } from "portable-mmap";
 * using m = mapFile("data.bin", { prot: RDWR });
 * m[0] = 42;
 * m.flush();
 * ```
 *
 * @packageDocumentation
 * @document ../docs/getting-started.md
 * @document ../docs/installing.md
 * @document ../docs/from-mmap-go.md
 * @document ../docs/from-python.md
 * @document ../docs/backends.md
 * @document ../docs/fallback.md
 * @document ../docs/safety.md
 * @document ../docs/sharing-memory.md
 * @document ../docs/performance.md
 * @document ../docs/troubleshooting.md
 * @document ../CONTRIBUTING.md
 * @document ../CHANGELOG.md
 * @document ../SECURITY.md
 */
import { selectedBackend } from "./api/select.js";

export { adviceSupported } from "./api/advice.js";
export {
  ANON,
  type Checked,
  COPY,
  EXEC,
  type FileMapFlags,
  type MapFlags,
  type PageProt,
  POPULATE,
  type Prot,
  RDONLY,
  RDWR,
} from "./api/constants.js";
export { MMapCursor, SEEK_CUR, SEEK_END, SEEK_SET, type Whence } from "./api/cursor.js";
export { ErrorCodes, MmapSystemError } from "./api/errors.js";
export {
  type FileLike,
  type MapFileOptions,
  map,
  mapFile,
  mapRegion,
  type PathLike,
  type URLType,
} from "./api/map.js";
export { MMap, type NodeBuffer, type Range, type ResizeOptions } from "./api/mmap.js";
export { type BackendInfo, type BackendStatus, backendInfo, type MappingCounts } from "./api/select.js";
export { BACKEND_ENV } from "./api/setting.js";
export {
  MAX_SHARED_NAME,
  openSharedMemory,
  type SharedMemoryOptions,
  type SharedProt,
  unlinkSharedMemory,
} from "./api/shared.js";
export type { Advice, BackendName, Capabilities } from "./backends/contract.js";

/**
 * The page size of the selected backend (for real backends, the system's
 * virtual memory page size: 4096 on x64, 4096 or 16384 on arm64). Selects
 * the backend if none is selected yet.
 *
 * @throws `Error` `ERR_MMAP_BACKEND` where no backend loads.
 */
export function pageSize(): number {
  return selectedBackend().pageSize;
}

/**
 * What map offsets are aligned down to internally: 64 KiB on Windows, the
 * page size elsewhere. A map at a file offset that is not a multiple of it
 * starts `offset % allocationGranularity()` bytes into its buffer
 * (`m.byteOffset`). Selects the backend if none is selected yet.
 *
 * @throws `Error` `ERR_MMAP_BACKEND` where no backend loads.
 */
export function allocationGranularity(): number {
  return selectedBackend().allocationGranularity;
}

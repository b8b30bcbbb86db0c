// A soak worker thread: maps the soak's file, stores its value over its own
// range, flushes, and ends, with unmap() or without (then the backend gives
// the mapping back when the worker ends).
import { workerData } from "node:worker_threads";
import { mapFile, RDWR } from "../../dist/index.js";

const { file, from, to, value, unmap } = workerData;
const m = mapFile(file, { prot: RDWR });
m.fill(value, from, to);
m.flush({ offset: from, length: to - from });
if (unmap) m.unmap();

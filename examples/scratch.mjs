// scratch: an anonymous map, mapRegion(null, size, RDWR, ANON): zero-filled
// memory straight from the OS, with no file behind it, given back at unmap()
// (rather than whenever the garbage collector gets to it). Used here for a
// sieve of Eratosthenes with one byte per number below `limit`.
//
//   node examples/scratch.mjs [limit]
//   (also: bun examples/scratch.mjs, deno run -A examples/scratch.mjs)
//
// `limit` defaults to 1,000,000 (a 1 MB map).
import { ANON, mapRegion, RDWR } from "portable-mmap";

const limit = Number(process.argv[2] ?? 1_000_000);
if (!Number.isSafeInteger(limit) || limit < 2) throw new Error(`not a limit >= 2: ${process.argv[2]}`);

const composite = mapRegion(null, limit, RDWR, ANON); // the file argument is ignored with ANON
try {
  let nonZero = 0;
  for (let i = 0; i < composite.length; i++) if (composite[i] !== 0) nonZero++;
  console.log(`mapped ${composite.length} bytes of anonymous memory, ${nonZero} of them not zero`);

  for (let p = 2; p * p < limit; p++) {
    if (composite[p] === 0) for (let k = p * p; k < limit; k += p) composite[k] = 1;
  }
  let primes = 0;
  let largest = 0;
  for (let n = 2; n < limit; n++) {
    if (composite[n] === 0) {
      primes++;
      largest = n;
    }
  }
  console.log(`primes below ${limit}: ${primes}, the largest ${largest}`);
} finally {
  composite.unmap();
}
console.log(`after unmap(): length ${composite.length}, unmapped ${composite.unmapped}`);

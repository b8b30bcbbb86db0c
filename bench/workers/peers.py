"""The benchmark's Python contender: the same operations as bench/workers/node.mjs
through Python's mmap module. Usage: peers.py OP key=value... Prints "ready",
then answers each line read from standard input with one JSON line {"ns": ...}."""
import json
import mmap
import os
import sys
import time

op = sys.argv[1]
p = dict(pair.split("=", 1) for pair in sys.argv[2:])
size = int(p.get("size", "0"))
fd = os.open(p["file"], os.O_RDONLY)


def offsets(count, limit, seed):
    """xorshift32, the same sequence as node.mjs and peers.c."""
    out = [0] * count
    x = seed & 0xFFFFFFFF
    for i in range(count):
        x ^= (x << 13) & 0xFFFFFFFF
        x ^= x >> 17
        x ^= (x << 5) & 0xFFFFFFFF
        out[i] = x % limit
    return out


if op == "cycle":
    cycles = int(p["cycles"])

    def run():
        start = time.perf_counter_ns()
        sink = 0
        for _ in range(cycles):
            m = mmap.mmap(fd, size, access=mmap.ACCESS_READ)
            sink += m[0]
            m.close()
        return (time.perf_counter_ns() - start) / cycles

elif op == "random":
    reads = int(p["reads"])
    at = offsets(reads, size - 8, int(p["seed"]))
    m = mmap.mmap(fd, size, access=mmap.ACCESS_READ)

    def run():
        start = time.perf_counter_ns()
        acc = 0
        frombytes = int.from_bytes
        for o in at:
            acc ^= frombytes(m[o : o + 8], "little")
        return (time.perf_counter_ns() - start) / reads

    run()
else:
    print(f"unavailable no Python contender for {op}", flush=True)
    sys.exit(0)

print("ready", flush=True)
for _ in sys.stdin:
    print(json.dumps({"ns": run()}), flush=True)

/** lock, unlock, advise, protect and residency. */
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import { type Advice, ANON, COPY, EXEC, map, mapRegion, pageSize, RDONLY, RDWR } from "portable-mmap";
import { describe, test } from "vitest";
import { testUnless } from "../unless.js";
import { caps, pattern, runChild, tempFile, throwsCode, withFd } from "./helpers.js";

describe("lock and unlock", () => {
  test("lock then unlock a file map and an anonymous map", () => {
    const file = tempFile(pattern(3 * 4096));
    const m = withFd(file, "r", (fd) => map(fd));
    m.lock();
    assert.deepEqual(Buffer.from(m), pattern(3 * 4096));
    m.unlock();
    m.unmap();
    const anon = mapRegion(null, 8192, RDWR, ANON);
    anon.lock();
    anon[8191] = 1;
    anon.unlock();
    anon.unmap();
  });

  testUnless(
    process.platform === "linux" ? undefined : "reads VmLck from /proc/self/status, which only Linux has",
    "lock pins the pages (VmLck grows) only where the backend locks memory",
    () => {
      const vmLck = (): number => Number(/VmLck:\s+(\d+) kB/.exec(fs.readFileSync("/proc/self/status", "utf8"))?.[1]);
      const m = mapRegion(null, 64 * pageSize(), RDWR, ANON);
      const before = vmLck();
      m.lock();
      const locked = vmLck();
      m.unlock();
      const after = vmLck();
      m.unmap();
      const size = (64 * pageSize()) / 1024;
      if (caps.locksMemory) {
        assert.equal(locked - before, size, "the whole map is locked");
        assert.equal(after, before, "unlock gives it back");
      } else {
        assert.equal(locked, before, "the fallback pins nothing");
      }
    },
  );

  test("a locked map is resident", () => {
    const m = mapRegion(null, 4 * pageSize(), RDWR, ANON);
    m.lock();
    assert.deepEqual([...m.residency()], [1, 1, 1, 1]);
    m.unlock();
    m.unmap();
  });
});

describe("advise", () => {
  test("every advice is accepted and never changes the contents", () => {
    const bytes = pattern(5 * 4096);
    const file = tempFile(bytes);
    const m = withFd(file, "r", (fd) => map(fd));
    const anon = mapRegion(null, 4096, RDWR, ANON);
    anon.fill(4);
    const copy = withFd(file, "r", (fd) => map(fd, 4));
    copy.fill(6);
    for (const advice of ["normal", "random", "sequential", "willneed", "dontneed"] as Advice[]) {
      m.advise(advice);
      m.advise(advice, { offset: 5000, length: 3 });
      anon.advise(advice);
      copy.advise(advice);
      assert.deepEqual(Buffer.from(m), bytes);
      assert.ok(
        anon.every((b) => b === 4),
        `anonymous contents kept after ${advice}`,
      );
      assert.ok(
        copy.every((b) => b === 6),
        `private contents kept after ${advice}`,
      );
    }
    m.unmap();
    anon.unmap();
    copy.unmap();
  });

  test("an unknown advice is ERR_INVALID_ARG_VALUE, a non-string ERR_INVALID_ARG_TYPE", () => {
    const m = mapRegion(null, 10, RDWR, ANON);
    throwsCode(() => m.advise("often" as Advice), TypeError, "ERR_INVALID_ARG_VALUE");
    throwsCode(() => m.advise(3 as unknown as Advice), TypeError, "ERR_INVALID_ARG_TYPE");
    m.unmap();
  });
});

describe("protect", () => {
  test("RDONLY keeps the bytes readable; RDWR makes them writable again and writes reach the file", () => {
    const file = tempFile(pattern(2 * 4096));
    const m = withFd(file, "r+", (fd) => map(fd, RDWR));
    m.protect(RDONLY);
    assert.deepEqual(Buffer.from(m), pattern(2 * 4096));
    m.protect(RDWR);
    m[4097] = 0x42;
    m.protect(RDWR | EXEC);
    m.protect(RDONLY | EXEC);
    m.protect(RDWR);
    m.unmap();
    assert.equal(fs.readFileSync(file)[4097], 0x42);
  });

  test("COPY or a bad value is ERR_INVALID_ARG_VALUE; a non-number ERR_INVALID_ARG_TYPE", () => {
    const m = mapRegion(null, 10, RDWR, ANON);
    // @ts-expect-error: not a PageProt: a type error in TypeScript; JavaScript callers get the coded error
    throwsCode(() => m.protect(4), TypeError, "ERR_INVALID_ARG_VALUE");
    // @ts-expect-error: not a PageProt: a type error in TypeScript; JavaScript callers get the coded error
    throwsCode(() => m.protect(1), TypeError, "ERR_INVALID_ARG_VALUE");
    // @ts-expect-error: not a PageProt: a type error in TypeScript; JavaScript callers get the coded error
    throwsCode(() => m.protect(-2), TypeError, "ERR_INVALID_ARG_VALUE");
    throwsCode(() => m.protect(2 ** 32 + 2), TypeError, "ERR_INVALID_ARG_VALUE"); // RDWR after a ToInt32 wrap
    throwsCode(() => m.protect("2" as unknown as number), TypeError, "ERR_INVALID_ARG_TYPE");
    m.unmap();
  });

  test("pagesWritable follows protect() where protection is enforced", () => {
    const m = mapRegion(null, 4096, RDWR, ANON);
    assert.equal(m.pagesWritable, true);
    m.protect(RDONLY);
    assert.equal(m.pagesWritable, !caps.enforcesProtection);
    m.protect(RDWR);
    assert.equal(m.pagesWritable, true);
    m.unmap();
  });
});

describe("EXEC maps", () => {
  /** The permissions /proc/self/maps shows for the mapping of `file` (Linux), e.g. "r-xp". */
  const permsOf = (file: string): string[] =>
    fs
      .readFileSync("/proc/self/maps", "utf8")
      .split("\n")
      .filter((line) => line.endsWith(file))
      .map((line) => line.split(/\s+/)[1] as string);

  test("RDONLY|EXEC is mapped read and execute only; writable and executable only when asked for", () => {
    const file = tempFile(pattern(4096));
    for (const [prot, perms, writable] of [
      [RDONLY | EXEC, "r-xp", false],
      [COPY | EXEC, "rwxp", true],
      [RDWR | EXEC, "rwxs", true],
      [RDONLY, "rw-p", true],
    ] as const) {
      const m = withFd(file, "r+", (fd) => map(fd, prot));
      assert.deepEqual(Buffer.from(m), pattern(4096));
      assert.equal(m.pagesWritable, writable || !caps.enforcesProtection, `prot ${prot}`);
      if (process.platform === "linux" && caps.sharesPageCache)
        assert.deepEqual(permsOf(file), [perms], `prot ${prot}`);
      m.unmap();
    }
  });

  test("a write to an RDONLY|EXEC map faults where protection is enforced, as after protect(RDONLY)", () => {
    const child = runChild(["write-rdonly-exec", tempFile(pattern(4096))]);
    if (caps.enforcesProtection) {
      assert.equal(child.stdout, "", "the write must fault before anything is printed");
      if (process.platform === "win32") assert.equal(child.status, 0xc0000005, child.stderr);
      else assert.ok(child.signal === "SIGSEGV" || child.signal === "SIGBUS", `${child.status} ${child.signal}`);
    } else {
      assert.equal(child.status, 0, child.stderr);
      assert.deepEqual(JSON.parse(child.stdout), { value: 9 });
    }
  });
});

describe("residency", () => {
  test("one byte per page, 0 or 1; touched pages are resident", () => {
    const page = pageSize();
    const file = tempFile(pattern(10 * page));
    const m = withFd(file, "r", (fd) => mapRegion(fd, 3 * page + 1, RDONLY, 0, page + 5));
    // The map covers bytes page+5 .. 4*page+5: pages 1 to 4 of the file.
    const before = m.residency();
    assert.equal(before.length, 4);
    assert.ok(before.every((b) => b === 0 || b === 1));
    let sum = 0;
    for (let i = 0; i < m.length; i += 512) sum += m[i] ?? 0;
    assert.ok(sum >= 0);
    assert.deepEqual([...m.residency()], [1, 1, 1, 1]);
    m.unmap();
  });

  test("an untouched anonymous map reports not resident only where residency is real", () => {
    const m = mapRegion(null, 16 * pageSize(), RDWR, ANON);
    const pages = m.residency();
    assert.equal(pages.length, 16);
    if (caps.reportsResidency) assert.equal(pages[15], 0, "an untouched anonymous page is not in RAM");
    else
      assert.ok(
        pages.every((b) => b === 1),
        "the fallback reports every page resident",
      );
    m.unmap();
  });
});

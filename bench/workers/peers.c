/*
 * The benchmark's C contender (compiled by bench/run.mjs with cc -O2): the
 * same operations as bench/workers/node.mjs, with nothing between the
 * program and the system calls: the limit on this machine.
 *
 * Usage: peers-c OP key=value...  (file=, size=, cycles=, reads=, seed=,
 * value=, how=, adds=). Prints "ready", then answers each line read from
 * standard input with one JSON line {"ns": ...}.
 */
#define _GNU_SOURCE
#define _FILE_OFFSET_BITS 64
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#ifndef MAP_NORESERVE
#define MAP_NORESERVE 0
#endif
#ifndef MAP_POPULATE
#define MAP_POPULATE 0
#endif

static int argc_;
static char **argv_;

static const char *param(const char *key, const char *fallback) {
  size_t n = strlen(key);
  for (int i = 2; i < argc_; i++) {
    if (strncmp(argv_[i], key, n) == 0 && argv_[i][n] == '=') return argv_[i] + n + 1;
  }
  return fallback;
}

static double now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static void fail(const char *what) {
  printf("error %s: %s\n", what, strerror(errno));
  fflush(stdout);
  exit(1);
}

static unsigned char *map_file(int fd, size_t size, int prot, int flags) {
  void *p = mmap(NULL, size, prot, flags, fd, 0);
  if (p == MAP_FAILED) fail("mmap");
  return p;
}

int main(int argc, char **argv) {
  argc_ = argc;
  argv_ = argv;
  if (argc < 2) {
    fprintf(stderr, "usage: %s OP key=value...\n", argv[0]);
    return 2;
  }
  const char *op = argv[1];
  const char *how = param("how", "");
  size_t size = strtoull(param("size", "0"), NULL, 10);
  int fd = open(param("file", ""), strcmp(op, "flush") == 0 || strcmp(op, "counter") == 0 ? O_RDWR : O_RDONLY);
  if (fd < 0) fail("open");
  volatile uint64_t sink = 0;

  /* Set up, once. */
  uint32_t *at = NULL;
  long reads = atol(param("reads", "0"));
  unsigned char *whole = NULL;
  if (strcmp(op, "random") == 0) {
    at = malloc(sizeof *at * (size_t)reads);
    uint32_t x = (uint32_t)strtoul(param("seed", "1"), NULL, 10);
    for (long i = 0; i < reads; i++) {
      x ^= x << 13;
      x ^= x >> 17;
      x ^= x << 5;
      at[i] = x % (uint32_t)(size - 8);
    }
    whole = map_file(fd, size, PROT_READ, MAP_SHARED);
    for (long i = 0; i < reads; i++) sink += whole[at[i]];
  } else if (strcmp(op, "flush") == 0 || strcmp(op, "counter") == 0) {
    whole = map_file(fd, size, PROT_READ | PROT_WRITE, MAP_SHARED);
  }
  printf("ready\n");
  fflush(stdout);

  char line[64];
  long round = 0;
  while (fgets(line, sizeof line, stdin) != NULL) {
    double start = now_ns(), ns = 0;
    if (strcmp(op, "cycle") == 0) {
      long cycles = atol(param("cycles", "1"));
      for (long i = 0; i < cycles; i++) {
        unsigned char *p = map_file(fd, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_NORESERVE);
        sink += *(volatile unsigned char *)p;
        if (munmap(p, size) != 0) fail("munmap");
      }
      ns = (now_ns() - start) / (double)cycles;
    } else if (strcmp(op, "random") == 0) {
      uint64_t acc = 0;
      for (long i = 0; i < reads; i++) {
        uint64_t v;
        memcpy(&v, whole + at[i], 8);
        acc ^= v;
      }
      sink += acc;
      ns = (now_ns() - start) / (double)reads;
    } else if (strcmp(op, "scan") == 0) {
      unsigned char value = (unsigned char)atoi(param("value", "10"));
      unsigned char *p = map_file(fd, size, PROT_READ, MAP_PRIVATE | (strcmp(how, "populate") == 0 ? MAP_POPULATE : 0));
      size_t n = 0;
      for (size_t i = 0; i < size; i++) n += p[i] == value;
      ns = now_ns() - start;
      sink += n;
      munmap(p, size);
    } else if (strcmp(op, "touch") == 0) {
      unsigned char *p = map_file(fd, size, PROT_READ, MAP_PRIVATE | (strcmp(how, "populate") == 0 ? MAP_POPULATE : 0));
      if (strcmp(how, "willneed") == 0) madvise(p, size, MADV_WILLNEED);
      for (size_t i = 0; i < size; i += 4096) sink += ((volatile unsigned char *)p)[i];
      ns = now_ns() - start;
      munmap(p, size);
    } else if (strcmp(op, "flush") == 0) {
      size_t page = (size_t)((round * 7919) % (long)(size / 4096)) * 4096;
      whole[page]++;
      start = now_ns();
      if (msync(strcmp(how, "range") == 0 ? whole + page : whole, strcmp(how, "range") == 0 ? 4096 : size, MS_SYNC) != 0) fail("msync");
      ns = now_ns() - start;
    } else if (strcmp(op, "counter") == 0) {
      long adds = atol(param("adds", "1"));
      int32_t *counter = (int32_t *)whole;
      for (long i = 0; i < adds; i++) __atomic_fetch_add(counter, 1, __ATOMIC_SEQ_CST);
      ns = (now_ns() - start) / (double)adds;
    } else {
      printf("error unknown op %s\n", op);
      fflush(stdout);
      return 2;
    }
    round++;
    printf("{\"ns\":%.3f}\n", ns);
    fflush(stdout);
  }
  if (sink == 42) fprintf(stderr, " ");
  return 0;
}

/*
 * The physical limit for bench/map-cycle.mjs: map 4 KiB of a page-cached file,
 * read one byte, unmap, in a loop. The mapping is the one the public API makes
 * for mapRegion(fd, 4096) with RDONLY: private, writable, MAP_NORESERVE.
 *
 * Usage: map-cycle FILE CYCLES
 * Runs one repetition of CYCLES cycles per line read from standard input and
 * answers each with a line: nanoseconds per cycle. Ends at end of input.
 */
#define _FILE_OFFSET_BITS 64
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

static double now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

int main(int argc, char **argv) {
  if (argc != 3) {
    fprintf(stderr, "usage: %s FILE CYCLES\n", argv[0]);
    return 2;
  }
  long cycles = atol(argv[2]);
  int fd = open(argv[1], O_RDONLY);
  if (fd < 0 || cycles <= 0) {
    perror("open");
    return 1;
  }
  int flags = MAP_PRIVATE;
#ifdef MAP_NORESERVE
  flags |= MAP_NORESERVE;
#endif
  volatile unsigned sink = 0;
  char line[64];
  while (fgets(line, sizeof line, stdin) != NULL) {
    double start = now_ns();
    for (long i = 0; i < cycles; i++) {
      unsigned char *p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, flags, fd, 0);
      if (p == MAP_FAILED) {
        perror("mmap");
        return 1;
      }
      sink += *(volatile unsigned char *)p;
      if (munmap(p, 4096) != 0) {
        perror("munmap");
        return 1;
      }
    }
    printf("%.1f\n", (now_ns() - start) / (double)cycles);
    fflush(stdout);
  }
  close(fd);
  return 0;
}

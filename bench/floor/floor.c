// The least any Node-API backend that follows portable-mmap's lifetime rules
// can cost per map cycle, all in C: check the file's size (the fstat the
// API makes before every map, so that no map reaches past the end of the
// file, where a touch would be SIGBUS), map a region of a file (as mapRegion with
// RDONLY does), wrap it in an external ArrayBuffer, read one byte, replace the
// pages in place with zero pages (the extra system call the rules add: unmap
// must not give the range back while something may point at it), detach,
// and give the range back. Built only by bench/run.mjs; not shipped.
#include <node_api.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>

#ifndef MAP_NORESERVE
#define MAP_NORESERVE 0
#endif

static double NowNs(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static void Finalize(napi_env env, void* data, void* hint) {
  (void)env;
  (void)data;
  (void)hint;
}

// floorCycles(fd, cycles, size): ns per cycle of `size` bytes (default 4096), or -1 on failure.
static napi_value FloorCycles(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3], result;
  int32_t fd, cycles;
  int64_t size = 4096;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  napi_get_value_int32(env, argv[0], &fd);
  napi_get_value_int32(env, argv[1], &cycles);
  if (argc >= 3) napi_get_value_int64(env, argv[2], &size);
  volatile unsigned sink = 0;
  double start = NowNs();
  for (int32_t i = 0; i < cycles; i++) {
    napi_handle_scope scope;
    napi_open_handle_scope(env, &scope);
    struct stat st;
    if (fstat(fd, &st) != 0 || st.st_size < size) {
      napi_close_handle_scope(env, scope);
      napi_create_double(env, -1, &result);
      return result;
    }
    void* p = mmap(NULL, (size_t)size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_NORESERVE, fd, 0);
    napi_value buffer;
    if (p == MAP_FAILED || napi_create_external_arraybuffer(env, p, (size_t)size, Finalize, NULL, &buffer) != napi_ok) {
      napi_close_handle_scope(env, scope);
      napi_create_double(env, -1, &result);
      return result;
    }
    sink += *(volatile uint8_t*)p;
    mmap(p, (size_t)size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED | MAP_NORESERVE, -1, 0);
    napi_detach_arraybuffer(env, buffer);
    munmap(p, (size_t)size);
    napi_close_handle_scope(env, scope);
  }
  napi_create_double(env, (NowNs() - start) / cycles, &result);
  return result;
}

NAPI_MODULE_INIT() {
  napi_value fn;
  napi_create_function(env, "floorCycles", NAPI_AUTO_LENGTH, FloorCycles, NULL, &fn);
  napi_set_named_property(env, exports, "floorCycles", fn);
  return exports;
}

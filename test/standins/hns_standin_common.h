/*
 * Shared by the computenetwork and vmcompute stand-ins (header only: scripts/build-standins.sh
 * compiles each .c on its own). Windows-sized types, UTF-16 helpers, and the route to the ole32
 * stand-in's CoTaskMemAlloc, so strings handed to the driver are owned exactly as on Windows.
 */
#ifndef HNS_STANDIN_COMMON_H
#define HNS_STANDIN_COMMON_H

#define _GNU_SOURCE
#include <dlfcn.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

typedef int32_t HRESULT;
typedef uint16_t WCHAR;
typedef struct { uint8_t bytes[16]; } GUID;

#define S_OK ((HRESULT)0)
#define E_INVALIDARG ((HRESULT)0x80070057)
#define E_HANDLE ((HRESULT)0x80070006)
#define E_POINTER ((HRESULT)0x80004003)

static inline size_t wlen(const WCHAR *s) {
  size_t n = 0;
  while (s[n]) n++;
  return n;
}

static inline WCHAR *wdup_plain(const WCHAR *s) {
  if (!s) return NULL;
  size_t n = wlen(s);
  WCHAR *d = malloc((n + 1) * sizeof(WCHAR));
  memcpy(d, s, (n + 1) * sizeof(WCHAR));
  return d;
}

/* UTF-8 → UTF-16 (surrogate pairs for code points above U+FFFF); `out` may be NULL to count. */
static inline size_t utf8_to_utf16(const char *in, WCHAR *out) {
  size_t n = 0;
  const unsigned char *s = (const unsigned char *)in;
  while (*s) {
    uint32_t cp;
    if (*s < 0x80) cp = *s++;
    else if ((*s & 0xe0) == 0xc0) { cp = (uint32_t)(*s++ & 0x1f) << 6; cp |= *s ? (*s++ & 0x3f) : 0; }
    else if ((*s & 0xf0) == 0xe0) {
      cp = (uint32_t)(*s++ & 0x0f) << 12;
      cp |= (uint32_t)(*s ? (*s++ & 0x3f) : 0) << 6;
      cp |= *s ? (*s++ & 0x3f) : 0;
    } else {
      cp = (uint32_t)(*s++ & 0x07) << 18;
      cp |= (uint32_t)(*s ? (*s++ & 0x3f) : 0) << 12;
      cp |= (uint32_t)(*s ? (*s++ & 0x3f) : 0) << 6;
      cp |= *s ? (*s++ & 0x3f) : 0;
    }
    if (cp >= 0x10000) {
      cp -= 0x10000;
      if (out) { out[n] = (WCHAR)(0xd800 | (cp >> 10)); out[n + 1] = (WCHAR)(0xdc00 | (cp & 0x3ff)); }
      n += 2;
    } else {
      if (out) out[n] = (WCHAR)cp;
      n += 1;
    }
  }
  if (out) out[n] = 0;
  return n;
}

/* UTF-16 → UTF-8 (malloc'd; unpaired surrogates become U+FFFD), so recorded documents read as text. */
static inline char *utf16_to_utf8(const WCHAR *in) {
  if (!in) return NULL;
  size_t n = wlen(in);
  char *out = malloc(n * 3 + 1);
  size_t o = 0;
  for (size_t i = 0; i < n; i++) {
    uint32_t cp = in[i];
    if (cp >= 0xd800 && cp < 0xdc00 && i + 1 < n && in[i + 1] >= 0xdc00 && in[i + 1] < 0xe000) {
      cp = 0x10000 + ((cp - 0xd800) << 10) + (in[i + 1] - 0xdc00);
      i++;
    } else if (cp >= 0xd800 && cp < 0xe000) {
      cp = 0xfffd;
    }
    if (cp < 0x80) out[o++] = (char)cp;
    else if (cp < 0x800) { out[o++] = (char)(0xc0 | (cp >> 6)); out[o++] = (char)(0x80 | (cp & 0x3f)); }
    else if (cp < 0x10000) {
      out[o++] = (char)(0xe0 | (cp >> 12)); out[o++] = (char)(0x80 | ((cp >> 6) & 0x3f)); out[o++] = (char)(0x80 | (cp & 0x3f));
    } else {
      out[o++] = (char)(0xf0 | (cp >> 18)); out[o++] = (char)(0x80 | ((cp >> 12) & 0x3f));
      out[o++] = (char)(0x80 | ((cp >> 6) & 0x3f)); out[o++] = (char)(0x80 | (cp & 0x3f));
    }
  }
  out[o] = 0;
  return out;
}

/* GUID text as HNS prints it (Data1..Data3 read little-endian from the 16 bytes). */
static inline void guid_to_text(const GUID *g, char out[37]) {
  const uint8_t *b = g->bytes;
  snprintf(out, 37, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
           b[3], b[2], b[1], b[0], b[5], b[4], b[7], b[6], b[8], b[9], b[10], b[11], b[12], b[13], b[14], b[15]);
}

static inline int guid_is_zero(const GUID *g) {
  for (int i = 0; i < 16; i++)
    if (g->bytes[i]) return 0;
  return 1;
}

/*
 * Finds `symbol` in the stand-in library `libname` next to this library (same directory), as
 * computenetwork.dll finds combase: the test loads the same path through koffi, so dlopen hands
 * back that very instance and its state is shared.
 */
static inline void *sibling_symbol(void *self_symbol, const char *libname, const char *symbol) {
  Dl_info info;
  if (!dladdr(self_symbol, &info) || !info.dli_fname) {
    fprintf(stderr, "standin: dladdr failed\n");
    abort();
  }
  char path[4096];
  snprintf(path, sizeof path, "%s", info.dli_fname);
  char *slash = strrchr(path, '/');
  size_t dir_len = slash ? (size_t)(slash - path + 1) : 0;
  snprintf(path + dir_len, sizeof path - dir_len, "%s", libname);
  void *lib = dlopen(path, RTLD_NOW);
  if (!lib) {
    fprintf(stderr, "standin: cannot load %s: %s\n", path, dlerror());
    abort();
  }
  void *sym = dlsym(lib, symbol);
  if (!sym) {
    fprintf(stderr, "standin: %s has no %s\n", path, symbol);
    abort();
  }
  return sym;
}

typedef void *(*co_task_mem_alloc_fn)(size_t);

/* CoTaskMemAlloc of the ole32 stand-in next to this library. */
static inline co_task_mem_alloc_fn find_co_task_mem_alloc(void *self_symbol) {
  static co_task_mem_alloc_fn cached;
  if (!cached) cached = (co_task_mem_alloc_fn)sibling_symbol(self_symbol, "libole32.so", "CoTaskMemAlloc");
  return cached;
}

/* A CoTaskMem copy of a UTF-8 string as UTF-16, for the caller to free with CoTaskMemFree. */
static inline WCHAR *co_task_utf16(co_task_mem_alloc_fn alloc, const char *utf8) {
  size_t n = utf8_to_utf16(utf8, NULL);
  WCHAR *w = alloc((n + 1) * sizeof(WCHAR));
  utf8_to_utf16(utf8, w);
  return w;
}

static inline WCHAR *co_task_wdup(co_task_mem_alloc_fn alloc, const WCHAR *s) {
  size_t n = wlen(s);
  WCHAR *w = alloc((n + 1) * sizeof(WCHAR));
  memcpy(w, s, (n + 1) * sizeof(WCHAR));
  return w;
}

#endif

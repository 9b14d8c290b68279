/*
 * Stand-in for the COM task allocator of ole32.dll, so the HCN driver's string ownership can be
 * checked on Linux. The computenetwork and vmcompute stand-ins allocate every string they hand
 * out through CoTaskMemAlloc here; the driver must give each one back through CoTaskMemFree
 * exactly once. Frees of NULL, of unknown pointers and second frees are counted, not executed,
 * so a test sees them instead of crashing.
 */
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define MAX_LIVE 65536
#define MAX_FREED 65536

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static void *live[MAX_LIVE];
static size_t live_count;
static void *freed[MAX_FREED];
static size_t freed_count;
static size_t freed_next;

static int64_t allocs, frees, null_frees, double_frees, unknown_frees;

static int index_of(void **set, size_t n, void *p) {
  for (size_t i = 0; i < n; i++)
    if (set[i] == p) return (int)i;
  return -1;
}

void *CoTaskMemAlloc(size_t size) {
  void *p = malloc(size ? size : 1);
  if (!p) return NULL;
  pthread_mutex_lock(&lock);
  if (live_count < MAX_LIVE) live[live_count++] = p;
  /* malloc may hand back an address freed earlier: it is no longer a "freed" pointer. */
  int f = index_of(freed, freed_count, p);
  if (f >= 0) freed[f] = NULL;
  allocs++;
  pthread_mutex_unlock(&lock);
  return p;
}

void CoTaskMemFree(void *p) {
  pthread_mutex_lock(&lock);
  if (!p) {
    null_frees++;
  } else {
    int i = index_of(live, live_count, p);
    if (i >= 0) {
      live[i] = live[--live_count];
      frees++;
      if (freed_count < MAX_FREED) freed[freed_count++] = p;
      else freed[freed_next++ % MAX_FREED] = p;
      free(p);
    } else if (index_of(freed, freed_count, p) >= 0) {
      double_frees++;
    } else {
      unknown_frees++;
    }
  }
  pthread_mutex_unlock(&lock);
}

/* Test inspection. name: allocs, frees, live, null_frees, double_frees, unknown_frees. */
int64_t Standin_MemCounter(const char *name) {
  int64_t v = -1;
  pthread_mutex_lock(&lock);
  if (!strcmp(name, "allocs")) v = allocs;
  else if (!strcmp(name, "frees")) v = frees;
  else if (!strcmp(name, "live")) v = (int64_t)live_count;
  else if (!strcmp(name, "null_frees")) v = null_frees;
  else if (!strcmp(name, "double_frees")) v = double_frees;
  else if (!strcmp(name, "unknown_frees")) v = unknown_frees;
  pthread_mutex_unlock(&lock);
  return v;
}

/* Forgets the counters; live blocks stay live (they are still owned by someone). */
void Standin_MemReset(void) {
  pthread_mutex_lock(&lock);
  allocs = frees = null_frees = double_frees = unknown_frees = 0;
  freed_count = freed_next = 0;
  for (size_t i = 0; i < live_count; i++) free(live[i]);
  live_count = 0;
  pthread_mutex_unlock(&lock);
}

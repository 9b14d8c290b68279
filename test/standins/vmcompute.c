/*
 * Stand-in for vmcompute.dll's HNS v1 entry point HNSCall, enough for host attach:
 * `POST /endpoints/<id>/attach` answers with the v1 envelope {"Success","Error","Output"} as HNS
 * does, including the S_OK + Success:false reply for an endpoint that is already attached.
 * Endpoint existence is asked of the computenetwork stand-in next to this library. Calls are
 * recorded for tests (Standin_Hns* below).
 */
#include "hns_standin_common.h"

#define MAX_CALLS 1024
#define MAX_ATTACHED 1024

typedef struct {
  char *method, *path, *request;
} v1_call_t;

typedef int32_t (*endpoint_exists_fn)(const char *);

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static v1_call_t calls[MAX_CALLS];
static int32_t call_count;
static char attached[MAX_ATTACHED][64];
static int attached_count;
static int fail_armed;
static HRESULT fail_hr;
static char *fail_response;

static co_task_mem_alloc_fn co_alloc(void) { return find_co_task_mem_alloc((void *)&find_co_task_mem_alloc); }

static endpoint_exists_fn endpoint_exists(void) {
  static endpoint_exists_fn cached;
  if (!cached) cached = (endpoint_exists_fn)sibling_symbol((void *)&find_co_task_mem_alloc, "libcomputenetwork.so", "Standin_HcnEndpointExists");
  return cached;
}

static int is_attached(const char *id) {
  for (int i = 0; i < attached_count; i++)
    if (!strcasecmp(attached[i], id)) return 1;
  return 0;
}

/* The v1 envelope for one request; `*hr` stays S_OK for answers HNS gives as Success:false. */
static char *answer(const char *method, const char *path, const char *request, HRESULT *hr) {
  char id[64];
  const char *prefix = "/endpoints/";
  const char *suffix = "/attach";
  size_t plen = strlen(prefix), slen = strlen(suffix), len = strlen(path);
  *hr = S_OK;
  if (!strcmp(method, "GET") && !strcmp(path, "/globals/version"))
    return strdup("{\"Success\":true,\"Output\":{\"Major\":15,\"Minor\":4}}");
  if (!strcmp(method, "POST") && len > plen + slen && !strncmp(path, prefix, plen) && !strcmp(path + len - slen, suffix) &&
      len - plen - slen < sizeof id) {
    memcpy(id, path + plen, len - plen - slen);
    id[len - plen - slen] = 0;
    if (!strstr(request, "\"SystemType\":\"Host\""))
      return strdup("{\"Success\":false,\"Error\":\"The parameter is incorrect.\",\"ErrorCode\":2147942487}");
    if (!endpoint_exists()(id)) return strdup("{\"Success\":false,\"Error\":\"Element not found.\",\"ErrorCode\":2147943568}");
    if (is_attached(id)) return strdup("{\"Success\":false,\"Error\":\"This endpoint is already attached to the switch.\"}");
    if (attached_count < MAX_ATTACHED) snprintf(attached[attached_count++], sizeof attached[0], "%s", id);
    return strdup("{\"Success\":true,\"Output\":{}}");
  }
  *hr = (HRESULT)0x80004001; /* E_NOTIMPL: the stand-in knows only what the driver uses */
  return NULL;
}

HRESULT HNSCall(const WCHAR *method, const WCHAR *path, const WCHAR *request, WCHAR **response) {
  if (response) *response = NULL;
  if (!method || !path || !request || !response) return E_POINTER;
  pthread_mutex_lock(&lock);
  char *m = utf16_to_utf8(method), *p = utf16_to_utf8(path), *r = utf16_to_utf8(request);
  if (call_count < MAX_CALLS) calls[call_count++] = (v1_call_t){strdup(m), strdup(p), strdup(r)};
  HRESULT hr;
  char *body;
  if (fail_armed) {
    fail_armed = 0;
    hr = fail_hr;
    body = fail_response ? strdup(fail_response) : NULL;
  } else {
    body = answer(m, p, r, &hr);
  }
  if (body) *response = co_task_utf16(co_alloc(), body);
  free(body);
  free(m);
  free(p);
  free(r);
  pthread_mutex_unlock(&lock);
  return hr;
}

/* ---- test inspection (not part of vmcompute.dll) ---- */

int32_t Standin_HnsCallCount(void) {
  pthread_mutex_lock(&lock);
  int32_t n = call_count;
  pthread_mutex_unlock(&lock);
  return n;
}

/* field: method, path, request. Valid until Standin_HnsReset. */
const char *Standin_HnsCall(int32_t i, const char *field) {
  const char *v = NULL;
  pthread_mutex_lock(&lock);
  if (i >= 0 && i < call_count) {
    if (!strcmp(field, "method")) v = calls[i].method;
    else if (!strcmp(field, "path")) v = calls[i].path;
    else if (!strcmp(field, "request")) v = calls[i].request;
  }
  pthread_mutex_unlock(&lock);
  return v;
}

int32_t Standin_HnsIsAttached(const char *id) {
  pthread_mutex_lock(&lock);
  int32_t a = is_attached(id);
  pthread_mutex_unlock(&lock);
  return a;
}

/* The next HNSCall returns `hr` with `response` (may be NULL) as its response text. */
void Standin_HnsFailNext(HRESULT hr, const char *response) {
  pthread_mutex_lock(&lock);
  fail_armed = 1;
  fail_hr = hr;
  free(fail_response);
  fail_response = response ? strdup(response) : NULL;
  pthread_mutex_unlock(&lock);
}

void Standin_HnsReset(void) {
  pthread_mutex_lock(&lock);
  for (int32_t i = 0; i < call_count; i++) {
    free(calls[i].method);
    free(calls[i].path);
    free(calls[i].request);
  }
  call_count = 0;
  attached_count = 0;
  fail_armed = 0;
  free(fail_response);
  fail_response = NULL;
  pthread_mutex_unlock(&lock);
}

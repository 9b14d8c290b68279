/*
 * Stand-in for computenetwork.dll (HCN v2), so the koffi driver runs unchanged on Linux. It
 * exports the real function names with Windows-sized types, keeps networks and endpoints in
 * memory, and answers with HCN_E codes and CoTaskMem strings as HNS does. Every call is recorded
 * (function, received document as UTF-8, GUID bytes) and handles are counted, for tests to read
 * through the Standin_Hcn* functions at the bottom. koffi's async calls run on worker threads:
 * one lock guards everything.
 */
#include "hns_standin_common.h"

#define HCN_E_NETWORK_NOT_FOUND ((HRESULT)0x803B0001)
#define HCN_E_ENDPOINT_NOT_FOUND ((HRESULT)0x803B0002)
#define HCN_E_NETWORK_ALREADY_EXISTS ((HRESULT)0x803B0010)
#define HCN_E_INVALID_JSON ((HRESULT)0x803B001B)

#define MAX_OBJECTS 1024
#define MAX_CALLS 4096
#define MAX_HANDLES 4096
#define HANDLE_MAGIC 0x48434e48u

enum kind { KIND_NETWORK = 1, KIND_ENDPOINT = 2 };

typedef struct {
  int used;
  enum kind kind;
  GUID id;
  GUID network; /* endpoints only */
  char name[256];
  char *props; /* UTF-8 JSON as HNS would report it */
} object_t;

typedef struct {
  uint32_t magic;
  enum kind kind;
  GUID id;
} handle_t;

typedef struct {
  char function[64];
  char *document;
  int has_guid;
  GUID guid;
} call_t;

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static object_t objects[MAX_OBJECTS];
static call_t calls[MAX_CALLS];
static int32_t call_count;
static handle_t *handles[MAX_HANDLES];
static size_t handle_count;
static int64_t opened, closed, bad_closes;
static uint32_t next_id = 1;
static int empty_record_on_success;

static char fail_function[64];
static int fail_armed;
static HRESULT fail_hr;
static char *fail_record;

static co_task_mem_alloc_fn co_alloc(void) { return find_co_task_mem_alloc((void *)&find_co_task_mem_alloc); }

/* ---- recording ---- */

static void record(const char *function, const WCHAR *document, const GUID *guid) {
  if (call_count >= MAX_CALLS) return;
  call_t *c = &calls[call_count++];
  snprintf(c->function, sizeof c->function, "%s", function);
  c->document = document ? utf16_to_utf8(document) : NULL;
  c->has_guid = guid != NULL;
  if (guid) c->guid = *guid;
}

/* ---- results ---- */

static void set_out(WCHAR **out, const char *utf8) {
  if (out) *out = utf8 ? co_task_utf16(co_alloc(), utf8) : NULL;
}

static HRESULT fail(HRESULT hr, WCHAR **error_record, const char *message) {
  if (error_record) {
    char buf[1024];
    snprintf(buf, sizeof buf, "{\"Success\":false,\"Error\":\"%s\",\"ErrorCode\":%u}", message, (uint32_t)hr);
    set_out(error_record, buf);
  }
  return hr;
}

static HRESULT ok(WCHAR **error_record) {
  if (empty_record_on_success) set_out(error_record, "");
  return S_OK;
}

/* An injected failure for `function`, if one is armed: consumed by the first matching call. */
static int injected(const char *function, WCHAR **error_record, HRESULT *hr) {
  if (!fail_armed || (fail_function[0] && strcmp(fail_function, function) != 0)) return 0;
  fail_armed = 0;
  *hr = fail_hr;
  if (fail_record) set_out(error_record, fail_record);
  return 1;
}

/* ---- store ---- */

static object_t *find_object(enum kind kind, const GUID *id) {
  for (int i = 0; i < MAX_OBJECTS; i++)
    if (objects[i].used && objects[i].kind == kind && !memcmp(&objects[i].id, id, sizeof *id)) return &objects[i];
  return NULL;
}

static object_t *find_by_name(enum kind kind, const char *name) {
  for (int i = 0; i < MAX_OBJECTS; i++)
    if (objects[i].used && objects[i].kind == kind && !strcmp(objects[i].name, name)) return &objects[i];
  return NULL;
}

static object_t *free_slot(void) {
  for (int i = 0; i < MAX_OBJECTS; i++)
    if (!objects[i].used) return &objects[i];
  return NULL;
}

/* HNS assigns an ID when the caller passes the zero GUID; a fixed shape keeps them recognisable. */
static GUID assign_id(void) {
  GUID g;
  uint32_t n = next_id++;
  uint8_t b[16] = {(uint8_t)n, (uint8_t)(n >> 8), (uint8_t)(n >> 16), 0x10, 0x45, 0x23, 0x78, 0x46,
                   0x89, 0xab, 0xcd, 0xef, 0x01, 0x23, 0x45, 0x67};
  memcpy(g.bytes, b, 16);
  return g;
}

/* Copies the string value of "key":"..." from a JSON text (no escapes needed for our keys). */
static int json_string_field(const char *json, const char *key, char *out, size_t out_size) {
  char pattern[128];
  snprintf(pattern, sizeof pattern, "\"%s\":\"", key);
  const char *p = strstr(json, pattern);
  if (!p) return 0;
  p += strlen(pattern);
  size_t n = 0;
  while (*p && *p != '"' && n + 1 < out_size) out[n++] = *p++;
  out[n] = 0;
  return 1;
}

/* The document HNS reports: what was sent, with the assigned "ID" first. */
static char *properties_of(const GUID *id, const char *settings) {
  char text[37];
  guid_to_text(id, text);
  const char *rest = settings + 1;
  while (*rest == ' ') rest++;
  size_t size = strlen(settings) + 64;
  char *props = malloc(size);
  if (strstr(settings, "\"ID\":")) snprintf(props, size, "%s", settings);
  else snprintf(props, size, "{\"ID\":\"%s\"%s%s", text, *rest == '}' ? "" : ",", rest);
  return props;
}

/* The Filter of a HostComputeQuery is a JSON object serialised into a string: unescape it. */
static void query_filter(const char *query, char *out, size_t out_size) {
  out[0] = 0;
  if (!query) return;
  const char *p = strstr(query, "\"Filter\":\"");
  if (!p) return;
  p += strlen("\"Filter\":\"");
  size_t n = 0;
  while (*p && *p != '"' && n + 1 < out_size) {
    if (*p == '\\' && p[1]) p++;
    out[n++] = *p++;
  }
  out[n] = 0;
}

static int matches_filter(const object_t *o, const char *filter) {
  char value[256], text[37];
  if (json_string_field(filter, "Name", value, sizeof value) && strcmp(value, o->name) != 0) return 0;
  guid_to_text(&o->id, text);
  if (json_string_field(filter, "ID", value, sizeof value) && strcasecmp(value, text) != 0) return 0;
  if (json_string_field(filter, "VirtualNetwork", value, sizeof value)) {
    if (o->kind != KIND_ENDPOINT) return 0;
    guid_to_text(&o->network, text);
    if (strcasecmp(value, text) != 0) return 0;
  }
  return 1;
}

static HRESULT enumerate(enum kind kind, const char *function, const WCHAR *query, WCHAR **out, WCHAR **error_record) {
  if (out) *out = NULL;
  if (error_record) *error_record = NULL;
  pthread_mutex_lock(&lock);
  record(function, query, NULL);
  HRESULT hr;
  if (!injected(function, error_record, &hr)) {
    if (!out) {
      hr = E_POINTER;
    } else {
      char *query8 = utf16_to_utf8(query);
      char filter[1024];
      query_filter(query8, filter, sizeof filter);
      free(query8);
      char *list = malloc(MAX_OBJECTS * 40 + 3);
      size_t n = 0;
      list[n++] = '[';
      for (int i = 0; i < MAX_OBJECTS; i++) {
        if (!objects[i].used || objects[i].kind != kind || !matches_filter(&objects[i], filter)) continue;
        char text[37];
        guid_to_text(&objects[i].id, text);
        n += (size_t)sprintf(list + n, "%s\"%s\"", n > 1 ? "," : "", text);
      }
      list[n++] = ']';
      list[n] = 0;
      set_out(out, list);
      free(list);
      hr = ok(error_record);
    }
  }
  pthread_mutex_unlock(&lock);
  return hr;
}

/* ---- handles ---- */

static void *new_handle(enum kind kind, const GUID *id) {
  if (handle_count >= MAX_HANDLES) return NULL;
  handle_t *h = malloc(sizeof *h);
  h->magic = HANDLE_MAGIC;
  h->kind = kind;
  h->id = *id;
  handles[handle_count++] = h;
  opened++;
  return h;
}

static handle_t *live_handle(void *p, enum kind kind) {
  for (size_t i = 0; i < handle_count; i++)
    if (handles[i] == p) return handles[i]->kind == kind ? handles[i] : NULL;
  return NULL;
}

static HRESULT close_handle(const char *function, void *p, enum kind kind) {
  pthread_mutex_lock(&lock);
  record(function, NULL, NULL);
  HRESULT hr = E_HANDLE;
  for (size_t i = 0; i < handle_count; i++) {
    if (handles[i] == p && handles[i]->kind == kind) {
      free(handles[i]);
      handles[i] = handles[--handle_count];
      closed++;
      hr = S_OK;
      break;
    }
  }
  if (hr != S_OK) bad_closes++;
  pthread_mutex_unlock(&lock);
  return hr;
}

static HRESULT open_object(enum kind kind, const char *function, const GUID *id, void **out, WCHAR **error_record) {
  if (out) *out = NULL;
  if (error_record) *error_record = NULL;
  pthread_mutex_lock(&lock);
  record(function, NULL, id);
  HRESULT hr;
  if (!injected(function, error_record, &hr)) {
    if (!id || !out) hr = E_POINTER;
    else if (!find_object(kind, id))
      hr = fail(kind == KIND_NETWORK ? HCN_E_NETWORK_NOT_FOUND : HCN_E_ENDPOINT_NOT_FOUND, error_record,
                kind == KIND_NETWORK ? "Network not found." : "Endpoint not found.");
    else {
      *out = new_handle(kind, id);
      hr = ok(error_record);
    }
  }
  pthread_mutex_unlock(&lock);
  return hr;
}

static HRESULT not_found(enum kind kind, WCHAR **error_record) {
  return kind == KIND_NETWORK ? fail(HCN_E_NETWORK_NOT_FOUND, error_record, "Network not found.")
                              : fail(HCN_E_ENDPOINT_NOT_FOUND, error_record, "Endpoint not found.");
}

static HRESULT query_object(enum kind kind, const char *function, void *handle, const WCHAR *query, WCHAR **props,
                            WCHAR **error_record) {
  if (props) *props = NULL;
  if (error_record) *error_record = NULL;
  pthread_mutex_lock(&lock);
  record(function, query, NULL);
  HRESULT hr;
  if (!injected(function, error_record, &hr)) {
    handle_t *h = live_handle(handle, kind);
    object_t *o = h ? find_object(kind, &h->id) : NULL;
    if (!h) hr = E_HANDLE;
    else if (!props) hr = E_POINTER;
    else if (!o) hr = not_found(kind, error_record);
    else {
      set_out(props, o->props);
      hr = ok(error_record);
    }
  }
  pthread_mutex_unlock(&lock);
  return hr;
}

static HRESULT modify_object(enum kind kind, const char *function, void *handle, const WCHAR *settings, WCHAR **error_record) {
  if (error_record) *error_record = NULL;
  pthread_mutex_lock(&lock);
  record(function, settings, NULL);
  HRESULT hr;
  if (!injected(function, error_record, &hr)) {
    handle_t *h = live_handle(handle, kind);
    if (!h) hr = E_HANDLE;
    else if (!settings || settings[0] != '{') hr = fail(HCN_E_INVALID_JSON, error_record, "Invalid JSON document string.");
    else if (!find_object(kind, &h->id)) hr = not_found(kind, error_record);
    else hr = ok(error_record);
  }
  pthread_mutex_unlock(&lock);
  return hr;
}

static HRESULT delete_object(enum kind kind, const char *function, const GUID *id, WCHAR **error_record) {
  if (error_record) *error_record = NULL;
  pthread_mutex_lock(&lock);
  record(function, NULL, id);
  HRESULT hr;
  if (!injected(function, error_record, &hr)) {
    object_t *o = id ? find_object(kind, id) : NULL;
    if (!id) hr = E_POINTER;
    else if (!o) hr = not_found(kind, error_record);
    else {
      free(o->props);
      memset(o, 0, sizeof *o);
      hr = ok(error_record);
    }
  }
  pthread_mutex_unlock(&lock);
  return hr;
}

/* Creates a network or endpoint; `network` is the parent network handle for an endpoint. */
static HRESULT create_object(enum kind kind, const char *function, void *network, const GUID *id, const WCHAR *settings,
                             void **out, WCHAR **error_record) {
  if (out) *out = NULL;
  if (error_record) *error_record = NULL;
  pthread_mutex_lock(&lock);
  record(function, settings, id);
  HRESULT hr;
  if (!injected(function, error_record, &hr)) {
    char *settings8 = utf16_to_utf8(settings);
    char name[256] = "";
    handle_t *parent = kind == KIND_ENDPOINT ? live_handle(network, KIND_NETWORK) : NULL;
    GUID chosen = id && !guid_is_zero(id) ? *id : assign_id();
    if (!id || !out || !settings8) hr = E_POINTER;
    else if (kind == KIND_ENDPOINT && !parent) hr = E_HANDLE;
    else if (kind == KIND_ENDPOINT && !find_object(KIND_NETWORK, &parent->id)) hr = not_found(KIND_NETWORK, error_record);
    else if (settings8[0] != '{') hr = fail(HCN_E_INVALID_JSON, error_record, "Invalid JSON document string.");
    else if (find_object(kind, &chosen) ||
             (kind == KIND_NETWORK && json_string_field(settings8, "Name", name, sizeof name) && find_by_name(kind, name)))
      hr = fail(HCN_E_NETWORK_ALREADY_EXISTS, error_record, "A network with this name already exists.");
    else {
      object_t *o = free_slot();
      if (!o) {
        hr = fail((HRESULT)0x8007000e, error_record, "Out of memory.");
      } else {
        o->used = 1;
        o->kind = kind;
        o->id = chosen;
        if (parent) o->network = parent->id;
        json_string_field(settings8, "Name", o->name, sizeof o->name);
        o->props = properties_of(&chosen, settings8);
        *out = new_handle(kind, &chosen);
        hr = ok(error_record);
      }
    }
    free(settings8);
  }
  pthread_mutex_unlock(&lock);
  return hr;
}

/* ---- the exported HCN API (parameter order as computenetwork.h) ---- */

HRESULT HcnEnumerateNetworks(const WCHAR *query, WCHAR **networks, WCHAR **error_record) {
  return enumerate(KIND_NETWORK, "HcnEnumerateNetworks", query, networks, error_record);
}

HRESULT HcnOpenNetwork(const GUID *id, void **network, WCHAR **error_record) {
  return open_object(KIND_NETWORK, "HcnOpenNetwork", id, network, error_record);
}

HRESULT HcnCreateNetwork(const GUID *id, const WCHAR *settings, void **network, WCHAR **error_record) {
  return create_object(KIND_NETWORK, "HcnCreateNetwork", NULL, id, settings, network, error_record);
}

HRESULT HcnModifyNetwork(void *network, const WCHAR *settings, WCHAR **error_record) {
  return modify_object(KIND_NETWORK, "HcnModifyNetwork", network, settings, error_record);
}

HRESULT HcnQueryNetworkProperties(void *network, const WCHAR *query, WCHAR **properties, WCHAR **error_record) {
  return query_object(KIND_NETWORK, "HcnQueryNetworkProperties", network, query, properties, error_record);
}

HRESULT HcnDeleteNetwork(const GUID *id, WCHAR **error_record) {
  return delete_object(KIND_NETWORK, "HcnDeleteNetwork", id, error_record);
}

HRESULT HcnCloseNetwork(void *network) { return close_handle("HcnCloseNetwork", network, KIND_NETWORK); }

HRESULT HcnEnumerateEndpoints(const WCHAR *query, WCHAR **endpoints, WCHAR **error_record) {
  return enumerate(KIND_ENDPOINT, "HcnEnumerateEndpoints", query, endpoints, error_record);
}

HRESULT HcnCreateEndpoint(void *network, const GUID *id, const WCHAR *settings, void **endpoint, WCHAR **error_record) {
  return create_object(KIND_ENDPOINT, "HcnCreateEndpoint", network, id, settings, endpoint, error_record);
}

HRESULT HcnOpenEndpoint(const GUID *id, void **endpoint, WCHAR **error_record) {
  return open_object(KIND_ENDPOINT, "HcnOpenEndpoint", id, endpoint, error_record);
}

HRESULT HcnModifyEndpoint(void *endpoint, const WCHAR *settings, WCHAR **error_record) {
  return modify_object(KIND_ENDPOINT, "HcnModifyEndpoint", endpoint, settings, error_record);
}

HRESULT HcnQueryEndpointProperties(void *endpoint, const WCHAR *query, WCHAR **properties, WCHAR **error_record) {
  return query_object(KIND_ENDPOINT, "HcnQueryEndpointProperties", endpoint, query, properties, error_record);
}

HRESULT HcnDeleteEndpoint(const GUID *id, WCHAR **error_record) {
  return delete_object(KIND_ENDPOINT, "HcnDeleteEndpoint", id, error_record);
}

HRESULT HcnCloseEndpoint(void *endpoint) { return close_handle("HcnCloseEndpoint", endpoint, KIND_ENDPOINT); }

/* ---- test inspection (not part of computenetwork.dll) ---- */

int32_t Standin_HcnCallCount(void) {
  pthread_mutex_lock(&lock);
  int32_t n = call_count;
  pthread_mutex_unlock(&lock);
  return n;
}

/* Pointers stay valid until Standin_HcnReset; tests read them right away. */
const char *Standin_HcnCallFunction(int32_t i) {
  pthread_mutex_lock(&lock);
  const char *f = i >= 0 && i < call_count ? calls[i].function : NULL;
  pthread_mutex_unlock(&lock);
  return f;
}

const char *Standin_HcnCallDocument(int32_t i) {
  pthread_mutex_lock(&lock);
  const char *d = i >= 0 && i < call_count ? calls[i].document : NULL;
  pthread_mutex_unlock(&lock);
  return d;
}

/* Copies the raw 16 GUID bytes the call received into `out`; 0 when the call took no GUID. */
int32_t Standin_HcnCallGuid(int32_t i, uint8_t *out) {
  pthread_mutex_lock(&lock);
  int32_t has = i >= 0 && i < call_count && calls[i].has_guid;
  if (has) memcpy(out, calls[i].guid.bytes, 16);
  pthread_mutex_unlock(&lock);
  return has;
}

/* name: opened, closed, live, bad_closes. */
int64_t Standin_HcnHandleCounter(const char *name) {
  int64_t v = -1;
  pthread_mutex_lock(&lock);
  if (!strcmp(name, "opened")) v = opened;
  else if (!strcmp(name, "closed")) v = closed;
  else if (!strcmp(name, "live")) v = (int64_t)handle_count;
  else if (!strcmp(name, "bad_closes")) v = bad_closes;
  pthread_mutex_unlock(&lock);
  return v;
}

/* The next call of `function` ("" = any) returns `hr` and, when given, `record` as its ErrorRecord. */
void Standin_HcnFailNext(const char *function, HRESULT hr, const char *record) {
  pthread_mutex_lock(&lock);
  snprintf(fail_function, sizeof fail_function, "%s", function ? function : "");
  fail_hr = hr;
  free(fail_record);
  fail_record = record ? strdup(record) : NULL;
  fail_armed = 1;
  pthread_mutex_unlock(&lock);
}

/* HNS may hand back an empty ErrorRecord on success: it must be freed and not read as a failure. */
void Standin_HcnEmptyErrorRecordOnSuccess(int32_t on) {
  pthread_mutex_lock(&lock);
  empty_record_on_success = on;
  pthread_mutex_unlock(&lock);
}

/* For the vmcompute stand-in: does an endpoint with this ID (text) exist? */
int32_t Standin_HcnEndpointExists(const char *id_text) {
  int32_t found = 0;
  pthread_mutex_lock(&lock);
  for (int i = 0; i < MAX_OBJECTS && !found; i++) {
    if (!objects[i].used || objects[i].kind != KIND_ENDPOINT) continue;
    char text[37];
    guid_to_text(&objects[i].id, text);
    found = !strcasecmp(text, id_text);
  }
  pthread_mutex_unlock(&lock);
  return found;
}

/* Forgets recorded calls and handle counters; objects and open handles stay. */
void Standin_HcnForgetCalls(void) {
  pthread_mutex_lock(&lock);
  for (int32_t i = 0; i < call_count; i++) free(calls[i].document);
  call_count = 0;
  opened = (int64_t)handle_count;
  closed = bad_closes = 0;
  pthread_mutex_unlock(&lock);
}

/* Back to an empty host: no objects, no calls, no injected failure. */
void Standin_HcnReset(void) {
  pthread_mutex_lock(&lock);
  for (int i = 0; i < MAX_OBJECTS; i++) free(objects[i].props);
  memset(objects, 0, sizeof objects);
  for (int32_t i = 0; i < call_count; i++) free(calls[i].document);
  call_count = 0;
  for (size_t i = 0; i < handle_count; i++) free(handles[i]);
  handle_count = 0;
  opened = closed = bad_closes = 0;
  next_id = 1;
  empty_record_on_success = 0;
  fail_armed = 0;
  free(fail_record);
  fail_record = NULL;
  pthread_mutex_unlock(&lock);
}

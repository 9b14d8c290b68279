/*
 * Stand-in for the parts of iphlpapi.dll the route driver calls, so the real koffi bindings run on
 * Linux. Every struct is declared with Windows x64 sizes (ULONG is 32-bit here, unlike Linux's
 * unsigned long) and the static asserts pin the offsets the driver relies on: if this file
 * compiles, the byte positions the tests read are the Windows ones.
 *
 * State: an in-memory forwarding table seeded with a few system routes, two interfaces, a
 * per-interface forwarding flag, and counters for tables handed out by GetIpForwardTable2 versus
 * tables given back through FreeMibTable. The Standin_* functions are test-only inspection hooks.
 * All state sits behind one mutex because koffi's async calls arrive on worker threads.
 */
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <uchar.h>

typedef uint32_t DWORD;
typedef uint32_t ULONG;
typedef uint16_t ADDRESS_FAMILY;
typedef uint8_t BOOLEAN;
typedef uint16_t WCHAR;

#define AF_UNSPEC_W 0
#define AF_INET_W 2
#define AF_INET6_W 23

#define NO_ERROR 0
#define ERROR_ACCESS_DENIED 5
#define ERROR_INVALID_PARAMETER 87
#define ERROR_BUFFER_OVERFLOW 111
#define ERROR_NOT_FOUND 1168
#define ERROR_OBJECT_ALREADY_EXISTS 5010

#define GAA_FLAG_SKIP_UNICAST 0x1
#define GAA_FLAG_SKIP_FRIENDLY_NAME 0x20

typedef struct {
  uint16_t sin_family;
  uint16_t sin_port;
  uint8_t sin_addr[4];
  uint8_t sin_zero[8];
} SOCKADDR_IN_W;

typedef struct {
  uint16_t sin6_family;
  uint16_t sin6_port;
  uint32_t sin6_flowinfo;
  uint8_t sin6_addr[16];
  uint32_t sin6_scope_id;
} SOCKADDR_IN6_W;

typedef union {
  SOCKADDR_IN_W Ipv4;
  SOCKADDR_IN6_W Ipv6;
  ADDRESS_FAMILY si_family;
} SOCKADDR_INET_W;

typedef struct {
  SOCKADDR_INET_W Prefix;
  uint8_t PrefixLength;
} IP_ADDRESS_PREFIX_W;

typedef struct {
  uint64_t InterfaceLuid;
  ULONG InterfaceIndex;
  IP_ADDRESS_PREFIX_W DestinationPrefix;
  SOCKADDR_INET_W NextHop;
  uint8_t SitePrefixLength;
  ULONG ValidLifetime;
  ULONG PreferredLifetime;
  ULONG Metric;
  int32_t Protocol;
  BOOLEAN Loopback;
  BOOLEAN AutoconfigureAddress;
  BOOLEAN Publish;
  BOOLEAN Immortal;
  ULONG Age;
  int32_t Origin;
} MIB_IPFORWARD_ROW2;

typedef struct {
  ULONG NumEntries;
  MIB_IPFORWARD_ROW2 Table[1];
} MIB_IPFORWARD_TABLE2;

typedef struct {
  ADDRESS_FAMILY Family;
  uint64_t InterfaceLuid;
  ULONG InterfaceIndex;
  ULONG MaxReassemblySize;
  uint64_t InterfaceIdentifier;
  ULONG MinRouterAdvertisementInterval;
  ULONG MaxRouterAdvertisementInterval;
  BOOLEAN AdvertisingEnabled;
  BOOLEAN ForwardingEnabled;
  BOOLEAN WeakHostSend;
  BOOLEAN WeakHostReceive;
  BOOLEAN UseAutomaticMetric;
  BOOLEAN UseNeighborUnreachabilityDetection;
  BOOLEAN ManagedAddressConfigurationSupported;
  BOOLEAN OtherStatefulConfigurationSupported;
  BOOLEAN AdvertiseDefaultRoute;
  int32_t RouterDiscoveryBehavior;
  ULONG DadTransmits;
  ULONG BaseReachableTime;
  ULONG RetransmitTime;
  ULONG PathMtuDiscoveryTimeout;
  int32_t LinkLocalAddressBehavior;
  ULONG LinkLocalAddressTimeout;
  ULONG ZoneIndices[16];
  ULONG SitePrefixLength;
  ULONG Metric;
  ULONG NlMtu;
  BOOLEAN Connected;
  BOOLEAN SupportsWakeUpPatterns;
  BOOLEAN SupportsNeighborDiscovery;
  BOOLEAN SupportsRouterDiscovery;
  ULONG ReachableTime;
  uint8_t TransmitOffload;
  uint8_t ReceiveOffload;
  BOOLEAN DisableDefaultRoutes;
} MIB_IPINTERFACE_ROW;

typedef struct {
  void *lpSockaddr;
  int32_t iSockaddrLength;
} SOCKET_ADDRESS_W;

typedef struct IP_ADAPTER_UNICAST_ADDRESS_W {
  ULONG Length;
  DWORD Flags;
  struct IP_ADAPTER_UNICAST_ADDRESS_W *Next;
  SOCKET_ADDRESS_W Address;
  int32_t PrefixOrigin;
  int32_t SuffixOrigin;
  int32_t DadState;
  ULONG ValidLifetime;
  ULONG PreferredLifetime;
  ULONG LeaseLifetime;
  uint8_t OnLinkPrefixLength;
} IP_ADAPTER_UNICAST_ADDRESS_W;

typedef struct IP_ADAPTER_ADDRESSES_W {
  ULONG Length;
  DWORD IfIndex;
  struct IP_ADAPTER_ADDRESSES_W *Next;
  char *AdapterName;
  IP_ADAPTER_UNICAST_ADDRESS_W *FirstUnicastAddress;
  void *FirstAnycastAddress;
  void *FirstMulticastAddress;
  void *FirstDnsServerAddress;
  WCHAR *DnsSuffix;
  WCHAR *Description;
  WCHAR *FriendlyName;
  uint8_t PhysicalAddress[8];
  ULONG PhysicalAddressLength;
  ULONG Flags;
  ULONG Mtu;
  ULONG IfType;
  int32_t OperStatus;
  ULONG Ipv6IfIndex;
  ULONG ZoneIndices[16];
  void *FirstPrefix;
  uint64_t TransmitLinkSpeed;
  uint64_t ReceiveLinkSpeed;
  void *FirstWinsServerAddress;
  void *FirstGatewayAddress;
  ULONG Ipv4Metric;
  ULONG Ipv6Metric;
  uint64_t Luid;
  SOCKET_ADDRESS_W Dhcpv4Server;
  uint32_t CompartmentId;
  uint8_t NetworkGuid[16];
  int32_t ConnectionType;
  int32_t TunnelType;
  SOCKET_ADDRESS_W Dhcpv6Server;
  uint8_t Dhcpv6ClientDuid[130];
  ULONG Dhcpv6ClientDuidLength;
  ULONG Dhcpv6Iaid;
  void *FirstDnsSuffix;
} IP_ADAPTER_ADDRESSES_W;

/* Windows x64 layout, per the SDK headers (offsets as WireGuard's winipcfg tests assert them). */
_Static_assert(sizeof(SOCKADDR_INET_W) == 28, "SOCKADDR_INET");
_Static_assert(sizeof(IP_ADDRESS_PREFIX_W) == 32, "IP_ADDRESS_PREFIX");
_Static_assert(sizeof(MIB_IPFORWARD_ROW2) == 104, "MIB_IPFORWARD_ROW2");
_Static_assert(offsetof(MIB_IPFORWARD_ROW2, InterfaceIndex) == 8, "InterfaceIndex");
_Static_assert(offsetof(MIB_IPFORWARD_ROW2, DestinationPrefix) == 12, "DestinationPrefix");
_Static_assert(offsetof(MIB_IPFORWARD_ROW2, DestinationPrefix.PrefixLength) == 40, "PrefixLength");
_Static_assert(offsetof(MIB_IPFORWARD_ROW2, NextHop) == 44, "NextHop");
_Static_assert(offsetof(MIB_IPFORWARD_ROW2, SitePrefixLength) == 72, "SitePrefixLength");
_Static_assert(offsetof(MIB_IPFORWARD_ROW2, Metric) == 84, "Metric");
_Static_assert(offsetof(MIB_IPFORWARD_ROW2, Protocol) == 88, "Protocol");
_Static_assert(offsetof(MIB_IPFORWARD_ROW2, Loopback) == 92, "Loopback");
_Static_assert(offsetof(MIB_IPFORWARD_ROW2, Age) == 96, "Age");
_Static_assert(offsetof(MIB_IPFORWARD_ROW2, Origin) == 100, "Origin");
_Static_assert(offsetof(MIB_IPFORWARD_TABLE2, Table) == 8, "TABLE2.Table");
_Static_assert(sizeof(MIB_IPINTERFACE_ROW) == 168, "MIB_IPINTERFACE_ROW");
_Static_assert(offsetof(MIB_IPINTERFACE_ROW, InterfaceLuid) == 8, "if InterfaceLuid");
_Static_assert(offsetof(MIB_IPINTERFACE_ROW, InterfaceIndex) == 16, "if InterfaceIndex");
_Static_assert(offsetof(MIB_IPINTERFACE_ROW, ForwardingEnabled) == 41, "ForwardingEnabled");
_Static_assert(offsetof(MIB_IPINTERFACE_ROW, ZoneIndices) == 80, "ZoneIndices");
_Static_assert(offsetof(MIB_IPINTERFACE_ROW, SitePrefixLength) == 144, "if SitePrefixLength");
_Static_assert(offsetof(MIB_IPINTERFACE_ROW, NlMtu) == 152, "NlMtu");
_Static_assert(offsetof(MIB_IPINTERFACE_ROW, DisableDefaultRoutes) == 166, "DisableDefaultRoutes");
_Static_assert(sizeof(IP_ADAPTER_UNICAST_ADDRESS_W) == 64, "IP_ADAPTER_UNICAST_ADDRESS");
_Static_assert(offsetof(IP_ADAPTER_UNICAST_ADDRESS_W, Address) == 16, "Address");
_Static_assert(offsetof(IP_ADAPTER_UNICAST_ADDRESS_W, OnLinkPrefixLength) == 56, "OnLinkPrefixLength");
_Static_assert(sizeof(IP_ADAPTER_ADDRESSES_W) == 448, "IP_ADAPTER_ADDRESSES");
_Static_assert(offsetof(IP_ADAPTER_ADDRESSES_W, FriendlyName) == 72, "FriendlyName");
_Static_assert(offsetof(IP_ADAPTER_ADDRESSES_W, Mtu) == 96, "Mtu");
_Static_assert(offsetof(IP_ADAPTER_ADDRESSES_W, OperStatus) == 104, "OperStatus");
_Static_assert(offsetof(IP_ADAPTER_ADDRESSES_W, Ipv6IfIndex) == 108, "Ipv6IfIndex");
_Static_assert(offsetof(IP_ADAPTER_ADDRESSES_W, Luid) == 224, "Luid");
_Static_assert(offsetof(IP_ADAPTER_ADDRESSES_W, Dhcpv6Server) == 280, "Dhcpv6Server");
_Static_assert(offsetof(IP_ADAPTER_ADDRESSES_W, FirstDnsSuffix) == 440, "FirstDnsSuffix");

/* ---- the simulated host ---- */

typedef struct {
  ADDRESS_FAMILY family;
  uint8_t addr[16];
  uint8_t prefix_len;
} standin_addr;

typedef struct {
  ULONG index;
  uint64_t luid;
  const char16_t *friendly_name;
  const char *adapter_name;
  ULONG mtu;
  int32_t oper_status; /* IF_OPER_STATUS: 1 up, 2 down */
  ULONG if_type;
  standin_addr addrs[4];
  int addr_count;
  BOOLEAN forwarding[2]; /* [0] IPv4, [1] IPv6 */
} standin_interface;

#define IFACE_COUNT 2
#define MAX_ROUTES 4096
#define MAX_TABLES 1024

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static standin_interface ifaces[IFACE_COUNT];
static MIB_IPFORWARD_ROW2 routes[MAX_ROUTES];
static int route_count;
static void *live_tables[MAX_TABLES];
static int live_table_count;
static int64_t tables_handed_out, tables_freed, bad_frees, null_frees;
static uint8_t last_route_row[sizeof(MIB_IPFORWARD_ROW2)];
static uint8_t last_interface_row[sizeof(MIB_IPINTERFACE_ROW)];
static ULONG last_gaa_flags, last_gaa_family;
static ADDRESS_FAMILY last_table_family;
static ULONG gaa_extra_bytes;
static char fail_fn[64];
static DWORD fail_code;
static int64_t calls_init_route, calls_create, calls_delete, calls_table, calls_gaa, calls_get_if, calls_set_if,
    calls_init_if;

static int fam_slot(ADDRESS_FAMILY f) { return f == AF_INET6_W ? 1 : 0; }
static int addr_len(ADDRESS_FAMILY f) { return f == AF_INET6_W ? 16 : 4; }

static const uint8_t *sockaddr_bytes(const SOCKADDR_INET_W *sa) {
  return sa->si_family == AF_INET6_W ? sa->Ipv6.sin6_addr : sa->Ipv4.sin_addr;
}

static void set_sockaddr(SOCKADDR_INET_W *sa, ADDRESS_FAMILY f, const uint8_t *bytes) {
  memset(sa, 0, sizeof(*sa));
  sa->si_family = f;
  if (f == AF_INET6_W) memcpy(sa->Ipv6.sin6_addr, bytes, 16);
  else memcpy(sa->Ipv4.sin_addr, bytes, 4);
}

/* Consumes a pending failure for `fn` (set by Standin_FailNext); returns the code or 0. */
static DWORD take_failure(const char *fn) {
  if (fail_code && !strcmp(fail_fn, fn)) {
    DWORD c = fail_code;
    fail_code = 0;
    fail_fn[0] = 0;
    return c;
  }
  return 0;
}

static standin_interface *iface_for(uint64_t luid, ULONG index) {
  for (int i = 0; i < IFACE_COUNT; i++) {
    if (luid ? ifaces[i].luid == luid : ifaces[i].index == index) return &ifaces[i];
  }
  return NULL;
}

static void seed_route(ADDRESS_FAMILY f, const uint8_t *dst, uint8_t len, const uint8_t *hop, standin_interface *ifc,
                       ULONG metric, int32_t protocol, int32_t origin) {
  MIB_IPFORWARD_ROW2 *r = &routes[route_count++];
  memset(r, 0, sizeof(*r));
  r->InterfaceLuid = ifc->luid;
  r->InterfaceIndex = ifc->index;
  set_sockaddr(&r->DestinationPrefix.Prefix, f, dst);
  r->DestinationPrefix.PrefixLength = len;
  set_sockaddr(&r->NextHop, f, hop);
  r->ValidLifetime = r->PreferredLifetime = 0xffffffff;
  r->Metric = metric;
  r->Protocol = protocol;
  r->Origin = origin;
  r->Immortal = 1;
}

static void seed(void) {
  static const uint8_t zero[16];
  memset(ifaces, 0, sizeof(ifaces));
  /* The uplink, as HNS leaves it after creating the overlay network. */
  ifaces[0] = (standin_interface){
      .index = 7,
      .luid = ((uint64_t)6 << 48) | ((uint64_t)3 << 24), /* IF_TYPE_ETHERNET_CSMACD, NetLuidIndex 3 */
      .friendly_name = u"vEthernet (Ethernet)",
      .adapter_name = "{5B0A1F7E-29C4-4C0B-9F5A-0D8B0C6E1A11}",
      .mtu = 1500,
      .oper_status = 1,
      .if_type = 6,
      .addrs = {{AF_INET_W, {10, 0, 0, 5}, 24},
                {AF_INET6_W, {0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0x02, 0x15, 0x5d, 0xff, 0xfe, 0x01, 0x02, 0x03}, 64}},
      .addr_count = 2,
  };
  /* A second adapter: down, non-ASCII name, and a LUID above 2^53 (IfType 71) to catch number rounding. */
  ifaces[1] = (standin_interface){
      .index = 12,
      .luid = ((uint64_t)71 << 48) | ((uint64_t)9 << 24),
      .friendly_name = u"WLAN – Büro",
      .adapter_name = "{9C1D2E3F-0000-4ABC-8DEF-112233445566}",
      .mtu = 1450,
      .oper_status = 2,
      .if_type = 71,
      .addrs = {{AF_INET_W, {192, 168, 50, 2}, 24}, {AF_INET_W, {192, 168, 51, 2}, 24}},
      .addr_count = 2,
  };
  route_count = 0;
  const uint8_t gw[4] = {10, 0, 0, 1}, local_net[4] = {10, 0, 0, 0};
  const uint8_t ll6[16] = {0xfe, 0x80};
  seed_route(AF_INET_W, zero, 0, gw, &ifaces[0], 0, 3, 2);
  seed_route(AF_INET_W, local_net, 24, zero, &ifaces[0], 256, 2, 1);
  seed_route(AF_INET6_W, ll6, 64, zero, &ifaces[0], 256, 2, 1);
}

static pthread_once_t seeded = PTHREAD_ONCE_INIT;
static void ensure_seeded(void) { pthread_once(&seeded, seed); }

static int same_key(const MIB_IPFORWARD_ROW2 *a, const MIB_IPFORWARD_ROW2 *b) {
  ADDRESS_FAMILY f = a->DestinationPrefix.Prefix.si_family;
  if (f != b->DestinationPrefix.Prefix.si_family || a->InterfaceIndex != b->InterfaceIndex) return 0;
  if (a->DestinationPrefix.PrefixLength != b->DestinationPrefix.PrefixLength) return 0;
  int n = addr_len(f);
  return !memcmp(sockaddr_bytes(&a->DestinationPrefix.Prefix), sockaddr_bytes(&b->DestinationPrefix.Prefix), n) &&
         !memcmp(sockaddr_bytes(&a->NextHop), sockaddr_bytes(&b->NextHop), n);
}

/* Checks a route row as Windows does before touching the table; fills `out` with the resolved key. */
static DWORD validate_route(const MIB_IPFORWARD_ROW2 *row, MIB_IPFORWARD_ROW2 *out) {
  ADDRESS_FAMILY f = row->DestinationPrefix.Prefix.si_family;
  if (f != AF_INET_W && f != AF_INET6_W) return ERROR_INVALID_PARAMETER;
  if (row->NextHop.si_family != f) return ERROR_INVALID_PARAMETER;
  if (row->DestinationPrefix.PrefixLength > (f == AF_INET6_W ? 128 : 32)) return ERROR_INVALID_PARAMETER;
  if (!row->InterfaceLuid && !row->InterfaceIndex) return ERROR_INVALID_PARAMETER;
  standin_interface *ifc = iface_for(row->InterfaceLuid, row->InterfaceIndex);
  if (!ifc) return ERROR_NOT_FOUND;
  *out = *row;
  out->InterfaceLuid = ifc->luid;
  out->InterfaceIndex = ifc->index;
  return NO_ERROR;
}

/* ---- iphlpapi exports ---- */

void InitializeIpForwardEntry(MIB_IPFORWARD_ROW2 *row) {
  pthread_mutex_lock(&lock);
  calls_init_route++;
  pthread_mutex_unlock(&lock);
  memset(row, 0, sizeof(*row));
  row->ValidLifetime = row->PreferredLifetime = 0xffffffff;
  row->Loopback = row->AutoconfigureAddress = row->Publish = row->Immortal = 1;
  /* "Illegal" sentinels that mean "not specified". */
  row->SitePrefixLength = 0xff;
  row->Metric = 0xffffffff;
  row->Protocol = -1;
}

DWORD CreateIpForwardEntry2(const MIB_IPFORWARD_ROW2 *row) {
  ensure_seeded();
  pthread_mutex_lock(&lock);
  calls_create++;
  memcpy(last_route_row, row, sizeof(last_route_row));
  DWORD rc = take_failure("CreateIpForwardEntry2");
  MIB_IPFORWARD_ROW2 key;
  if (!rc) rc = validate_route(row, &key);
  if (!rc) {
    for (int i = 0; i < route_count; i++)
      if (same_key(&routes[i], &key)) rc = ERROR_OBJECT_ALREADY_EXISTS;
  }
  if (!rc && route_count >= MAX_ROUTES) rc = ERROR_INVALID_PARAMETER;
  if (!rc) {
    if (key.Metric == 0xffffffff) key.Metric = 0;
    key.Origin = 0; /* NlroManual */
    key.Age = 0;
    routes[route_count++] = key;
  }
  pthread_mutex_unlock(&lock);
  return rc;
}

DWORD DeleteIpForwardEntry2(const MIB_IPFORWARD_ROW2 *row) {
  ensure_seeded();
  pthread_mutex_lock(&lock);
  calls_delete++;
  memcpy(last_route_row, row, sizeof(last_route_row));
  DWORD rc = take_failure("DeleteIpForwardEntry2");
  MIB_IPFORWARD_ROW2 key;
  if (!rc) rc = validate_route(row, &key);
  if (!rc) {
    rc = ERROR_NOT_FOUND;
    for (int i = 0; i < route_count; i++) {
      if (same_key(&routes[i], &key)) {
        routes[i] = routes[--route_count];
        rc = NO_ERROR;
        break;
      }
    }
  }
  pthread_mutex_unlock(&lock);
  return rc;
}

DWORD GetIpForwardTable2(ADDRESS_FAMILY family, MIB_IPFORWARD_TABLE2 **table) {
  ensure_seeded();
  pthread_mutex_lock(&lock);
  calls_table++;
  last_table_family = family;
  DWORD rc = take_failure("GetIpForwardTable2");
  if (!rc && (!table || (family != AF_UNSPEC_W && family != AF_INET_W && family != AF_INET6_W)))
    rc = ERROR_INVALID_PARAMETER;
  if (!rc && live_table_count >= MAX_TABLES) rc = ERROR_INVALID_PARAMETER;
  if (!rc) {
    ULONG n = 0;
    for (int i = 0; i < route_count; i++)
      if (family == AF_UNSPEC_W || routes[i].DestinationPrefix.Prefix.si_family == family) n++;
    MIB_IPFORWARD_TABLE2 *t = calloc(1, offsetof(MIB_IPFORWARD_TABLE2, Table) + (n ? n : 1) * sizeof(MIB_IPFORWARD_ROW2));
    t->NumEntries = n;
    ULONG j = 0;
    for (int i = 0; i < route_count; i++)
      if (family == AF_UNSPEC_W || routes[i].DestinationPrefix.Prefix.si_family == family) t->Table[j++] = routes[i];
    live_tables[live_table_count++] = t;
    tables_handed_out++;
    *table = t;
  }
  pthread_mutex_unlock(&lock);
  return rc;
}

void FreeMibTable(void *memory) {
  pthread_mutex_lock(&lock);
  if (!memory) {
    null_frees++;
  } else {
    int found = -1;
    for (int i = 0; i < live_table_count; i++)
      if (live_tables[i] == memory) found = i;
    if (found >= 0) {
      live_tables[found] = live_tables[--live_table_count];
      tables_freed++;
      free(memory);
    } else {
      bad_frees++; /* double free or a pointer we never handed out: counted, not executed */
    }
  }
  pthread_mutex_unlock(&lock);
}

static size_t wstrlen16(const char16_t *s) {
  size_t n = 0;
  while (s[n]) n++;
  return n;
}

static int include_addr(ULONG family, const standin_addr *a) { return family == AF_UNSPEC_W || a->family == family; }

static size_t align8(size_t n) { return (n + 7) & ~(size_t)7; }

/* Bytes one adapter needs in the caller's buffer: record, unicast list, sockaddrs, strings. */
static size_t adapter_size(const standin_interface *ifc, ULONG family, ULONG flags) {
  size_t n = align8(sizeof(IP_ADAPTER_ADDRESSES_W));
  if (!(flags & GAA_FLAG_SKIP_UNICAST))
    for (int i = 0; i < ifc->addr_count; i++)
      if (include_addr(family, &ifc->addrs[i]))
        n += align8(sizeof(IP_ADAPTER_UNICAST_ADDRESS_W)) + align8(sizeof(SOCKADDR_IN6_W));
  n += align8((wstrlen16(ifc->friendly_name) + 1) * 2) + align8(strlen(ifc->adapter_name) + 1) + 2 * align8(2);
  return n;
}

ULONG GetAdaptersAddresses(ULONG family, ULONG flags, void *reserved, IP_ADAPTER_ADDRESSES_W *buf, ULONG *size) {
  ensure_seeded();
  pthread_mutex_lock(&lock);
  calls_gaa++;
  last_gaa_flags = flags;
  last_gaa_family = family;
  ULONG rc = take_failure("GetAdaptersAddresses");
  if (!rc && (reserved || !size || (family != AF_UNSPEC_W && family != AF_INET_W && family != AF_INET6_W)))
    rc = ERROR_INVALID_PARAMETER;
  size_t need = gaa_extra_bytes;
  for (int i = 0; i < IFACE_COUNT && !rc; i++) need += adapter_size(&ifaces[i], family, flags);
  if (!rc && (!buf || *size < need)) {
    *size = (ULONG)need;
    rc = ERROR_BUFFER_OVERFLOW;
  }
  if (!rc) {
    memset(buf, 0, need);
    uint8_t *cursor = (uint8_t *)buf;
    IP_ADAPTER_ADDRESSES_W *prev = NULL;
    for (int i = 0; i < IFACE_COUNT; i++) {
      const standin_interface *ifc = &ifaces[i];
      IP_ADAPTER_ADDRESSES_W *a = (IP_ADAPTER_ADDRESSES_W *)cursor;
      cursor += align8(sizeof(*a));
      if (prev) prev->Next = a;
      prev = a;
      a->Length = sizeof(*a);
      a->IfIndex = ifc->index;
      a->Ipv6IfIndex = ifc->index;
      a->Mtu = ifc->mtu;
      a->IfType = ifc->if_type;
      a->OperStatus = ifc->oper_status;
      a->Luid = ifc->luid;
      a->PhysicalAddressLength = 6;
      IP_ADAPTER_UNICAST_ADDRESS_W *last = NULL;
      if (!(flags & GAA_FLAG_SKIP_UNICAST)) {
        for (int k = 0; k < ifc->addr_count; k++) {
          const standin_addr *ad = &ifc->addrs[k];
          if (!include_addr(family, ad)) continue;
          IP_ADAPTER_UNICAST_ADDRESS_W *u = (IP_ADAPTER_UNICAST_ADDRESS_W *)cursor;
          cursor += align8(sizeof(*u));
          u->Length = sizeof(*u);
          u->OnLinkPrefixLength = ad->prefix_len;
          u->ValidLifetime = u->PreferredLifetime = 0xffffffff;
          if (ad->family == AF_INET6_W) {
            SOCKADDR_IN6_W *s = (SOCKADDR_IN6_W *)cursor;
            s->sin6_family = AF_INET6_W;
            memcpy(s->sin6_addr, ad->addr, 16);
            u->Address.iSockaddrLength = sizeof(SOCKADDR_IN6_W);
            u->Address.lpSockaddr = s;
          } else {
            SOCKADDR_IN_W *s = (SOCKADDR_IN_W *)cursor;
            s->sin_family = AF_INET_W;
            memcpy(s->sin_addr, ad->addr, 4);
            u->Address.iSockaddrLength = sizeof(SOCKADDR_IN_W);
            u->Address.lpSockaddr = s;
          }
          cursor += align8(sizeof(SOCKADDR_IN6_W));
          if (last) last->Next = u;
          else a->FirstUnicastAddress = u;
          last = u;
        }
      }
      size_t name_len = wstrlen16(ifc->friendly_name);
      a->FriendlyName = (WCHAR *)cursor;
      if (!(flags & GAA_FLAG_SKIP_FRIENDLY_NAME)) memcpy(cursor, ifc->friendly_name, name_len * 2);
      cursor += align8((name_len + 1) * 2);
      a->AdapterName = (char *)cursor;
      strcpy((char *)cursor, ifc->adapter_name);
      cursor += align8(strlen(ifc->adapter_name) + 1);
      a->DnsSuffix = (WCHAR *)cursor;
      cursor += align8(2);
      a->Description = (WCHAR *)cursor;
      cursor += align8(2);
    }
  }
  pthread_mutex_unlock(&lock);
  return rc;
}

void InitializeIpInterfaceEntry(MIB_IPINTERFACE_ROW *row) {
  pthread_mutex_lock(&lock);
  calls_init_if++;
  pthread_mutex_unlock(&lock);
  memset(row, 0, sizeof(*row));
  /* Windows marks every settable field "unchanged" with -1 / 0xff sentinels. */
  row->SitePrefixLength = 0xffffffff;
  row->Metric = 0xffffffff;
  row->NlMtu = 0xffffffff;
  row->ForwardingEnabled = 0xff;
  row->AdvertisingEnabled = 0xff;
}

DWORD GetIpInterfaceEntry(MIB_IPINTERFACE_ROW *row) {
  ensure_seeded();
  pthread_mutex_lock(&lock);
  calls_get_if++;
  DWORD rc = take_failure("GetIpInterfaceEntry");
  standin_interface *ifc = NULL;
  if (!rc && row->Family != AF_INET_W && row->Family != AF_INET6_W) rc = ERROR_INVALID_PARAMETER;
  if (!rc && !row->InterfaceLuid && !row->InterfaceIndex) rc = ERROR_INVALID_PARAMETER;
  if (!rc && !(ifc = iface_for(row->InterfaceLuid, row->InterfaceIndex))) rc = ERROR_NOT_FOUND;
  if (!rc) {
    ADDRESS_FAMILY f = row->Family;
    memset(row, 0, sizeof(*row));
    row->Family = f;
    row->InterfaceLuid = ifc->luid;
    row->InterfaceIndex = ifc->index;
    row->ForwardingEnabled = ifc->forwarding[fam_slot(f)];
    row->NlMtu = ifc->mtu;
    row->Connected = ifc->oper_status == 1;
    row->UseAutomaticMetric = 1;
    row->Metric = 15;
    /* The documented quirk: Get reports a non-zero SitePrefixLength for IPv4 that Set refuses. */
    row->SitePrefixLength = f == AF_INET_W ? 64 : 48;
  }
  pthread_mutex_unlock(&lock);
  return rc;
}

DWORD SetIpInterfaceEntry(MIB_IPINTERFACE_ROW *row) {
  ensure_seeded();
  pthread_mutex_lock(&lock);
  calls_set_if++;
  memcpy(last_interface_row, row, sizeof(last_interface_row));
  DWORD rc = take_failure("SetIpInterfaceEntry");
  standin_interface *ifc = NULL;
  if (!rc && row->Family != AF_INET_W && row->Family != AF_INET6_W) rc = ERROR_INVALID_PARAMETER;
  if (!rc && !row->InterfaceLuid && !row->InterfaceIndex) rc = ERROR_INVALID_PARAMETER;
  if (!rc && row->Family == AF_INET_W && row->SitePrefixLength != 0) rc = ERROR_INVALID_PARAMETER;
  if (!rc && row->ForwardingEnabled > 1) rc = ERROR_INVALID_PARAMETER;
  if (!rc && !(ifc = iface_for(row->InterfaceLuid, row->InterfaceIndex))) rc = ERROR_NOT_FOUND;
  if (!rc) {
    ifc->forwarding[fam_slot(row->Family)] = row->ForwardingEnabled;
    row->InterfaceLuid = ifc->luid;
  }
  pthread_mutex_unlock(&lock);
  return rc;
}

/* ---- test-only inspection ---- */

/* Restores the seeded host and zeroes every counter. Tables still live are released. */
void Standin_Reset(void) {
  pthread_once(&seeded, seed);
  pthread_mutex_lock(&lock);
  seed();
  for (int i = 0; i < live_table_count; i++) free(live_tables[i]);
  live_table_count = 0;
  tables_handed_out = tables_freed = bad_frees = null_frees = 0;
  calls_init_route = calls_create = calls_delete = calls_table = calls_gaa = calls_get_if = calls_set_if =
      calls_init_if = 0;
  memset(last_route_row, 0, sizeof(last_route_row));
  memset(last_interface_row, 0, sizeof(last_interface_row));
  last_gaa_flags = last_gaa_family = 0;
  last_table_family = 0;
  gaa_extra_bytes = 0;
  fail_code = 0;
  fail_fn[0] = 0;
  pthread_mutex_unlock(&lock);
}

/* The next call to `fn` returns `code` without doing anything else (beyond recording its input). */
void Standin_FailNext(const char *fn, DWORD code) {
  pthread_mutex_lock(&lock);
  strncpy(fail_fn, fn, sizeof(fail_fn) - 1);
  fail_fn[sizeof(fail_fn) - 1] = 0;
  fail_code = code;
  pthread_mutex_unlock(&lock);
}

/* Makes GetAdaptersAddresses need `extra` more bytes, so a caller's first guess can be too small. */
void Standin_SetAdapterPadding(ULONG extra) {
  pthread_mutex_lock(&lock);
  gaa_extra_bytes = extra;
  pthread_mutex_unlock(&lock);
}

int32_t Standin_RouteCount(void) {
  ensure_seeded();
  pthread_mutex_lock(&lock);
  int32_t n = route_count;
  pthread_mutex_unlock(&lock);
  return n;
}

/* Copies the raw bytes of the last row Create/DeleteIpForwardEntry2 received (104 bytes). */
void Standin_LastRouteRow(uint8_t *out) {
  pthread_mutex_lock(&lock);
  memcpy(out, last_route_row, sizeof(last_route_row));
  pthread_mutex_unlock(&lock);
}

/* Copies the raw bytes of the last row SetIpInterfaceEntry received (168 bytes). */
void Standin_LastInterfaceRow(uint8_t *out) {
  pthread_mutex_lock(&lock);
  memcpy(out, last_interface_row, sizeof(last_interface_row));
  pthread_mutex_unlock(&lock);
}

/* 1/0 for the interface's forwarding flag in that family (2 or 23); -1 for an unknown interface. */
int32_t Standin_Forwarding(ULONG index, ADDRESS_FAMILY family) {
  ensure_seeded();
  pthread_mutex_lock(&lock);
  standin_interface *ifc = iface_for(0, index);
  int32_t v = ifc ? ifc->forwarding[fam_slot(family)] : -1;
  pthread_mutex_unlock(&lock);
  return v;
}

/*
 * name: tables_handed_out, tables_freed, tables_live, bad_frees, null_frees, last_gaa_flags,
 * last_gaa_family, last_table_family, or calls:<Function> for a per-function call count.
 */
int64_t Standin_Counter(const char *name) {
  int64_t v = -1;
  pthread_mutex_lock(&lock);
  if (!strcmp(name, "tables_handed_out")) v = tables_handed_out;
  else if (!strcmp(name, "tables_freed")) v = tables_freed;
  else if (!strcmp(name, "tables_live")) v = live_table_count;
  else if (!strcmp(name, "bad_frees")) v = bad_frees;
  else if (!strcmp(name, "null_frees")) v = null_frees;
  else if (!strcmp(name, "last_gaa_flags")) v = last_gaa_flags;
  else if (!strcmp(name, "last_gaa_family")) v = last_gaa_family;
  else if (!strcmp(name, "last_table_family")) v = last_table_family;
  else if (!strcmp(name, "calls:InitializeIpForwardEntry")) v = calls_init_route;
  else if (!strcmp(name, "calls:CreateIpForwardEntry2")) v = calls_create;
  else if (!strcmp(name, "calls:DeleteIpForwardEntry2")) v = calls_delete;
  else if (!strcmp(name, "calls:GetIpForwardTable2")) v = calls_table;
  else if (!strcmp(name, "calls:GetAdaptersAddresses")) v = calls_gaa;
  else if (!strcmp(name, "calls:InitializeIpInterfaceEntry")) v = calls_init_if;
  else if (!strcmp(name, "calls:GetIpInterfaceEntry")) v = calls_get_if;
  else if (!strcmp(name, "calls:SetIpInterfaceEntry")) v = calls_set_if;
  pthread_mutex_unlock(&lock);
  return v;
}

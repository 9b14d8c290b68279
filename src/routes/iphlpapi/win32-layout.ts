import type { TypeObject } from 'koffi';

export type KoffiModule = typeof import('koffi');

/**
 * The iphlpapi structs as koffi types, declared member by member so koffi computes the same
 * padding MSVC does on x64 (natural alignment). The types are anonymous on purpose: koffi's type
 * names are process-global and another driver may declare its own SOCKADDR.
 */
export interface Win32Layout {
  SOCKADDR_IN: TypeObject;
  SOCKADDR_IN6: TypeObject;
  /** union { SOCKADDR_IN Ipv4; SOCKADDR_IN6 Ipv6; ADDRESS_FAMILY si_family; } — 28 bytes. */
  SOCKADDR_INET: TypeObject;
  /** 32 bytes: Prefix @0, PrefixLength @28. */
  IP_ADDRESS_PREFIX: TypeObject;
  /** 104 bytes. */
  MIB_IPFORWARD_ROW2: TypeObject;
  /** NumEntries @0, rows @8 (the row's 8-byte alignment puts them there). */
  MIB_IPFORWARD_TABLE2: TypeObject;
  /** 168 bytes. */
  MIB_IPINTERFACE_ROW: TypeObject;
  /** { LPSOCKADDR lpSockaddr; INT iSockaddrLength; } — 16 bytes. */
  SOCKET_ADDRESS: TypeObject;
  /** IP_ADAPTER_UNICAST_ADDRESS_LH, 64 bytes. */
  IP_ADAPTER_UNICAST_ADDRESS: TypeObject;
  /** IP_ADAPTER_ADDRESSES_LH, 448 bytes. */
  IP_ADAPTER_ADDRESSES: TypeObject;
}

const cache = new WeakMap<object, Win32Layout>();

export function win32Layout(koffi: KoffiModule): Win32Layout {
  const cached = cache.get(koffi);
  if (cached) return cached;
  const layout = defineLayout(koffi);
  cache.set(koffi, layout);
  return layout;
}

function defineLayout(koffi: KoffiModule): Win32Layout {
  const u8 = (n: number): TypeObject => koffi.array('uint8_t', n, 'Typed');
  const ptr = 'void *';

  const SOCKADDR_IN = koffi.struct({
    sin_family: 'uint16_t',
    sin_port: 'uint16_be_t',
    sin_addr: u8(4),
    sin_zero: u8(8),
  });
  const SOCKADDR_IN6 = koffi.struct({
    sin6_family: 'uint16_t',
    sin6_port: 'uint16_be_t',
    sin6_flowinfo: 'uint32_t',
    sin6_addr: u8(16),
    sin6_scope_id: 'uint32_t',
  });
  const SOCKADDR_INET = koffi.union({ Ipv4: SOCKADDR_IN, Ipv6: SOCKADDR_IN6, si_family: 'uint16_t' });
  const IP_ADDRESS_PREFIX = koffi.struct({ Prefix: SOCKADDR_INET, PrefixLength: 'uint8_t' });

  const MIB_IPFORWARD_ROW2 = koffi.struct({
    InterfaceLuid: 'uint64_t',
    InterfaceIndex: 'uint32_t',
    DestinationPrefix: IP_ADDRESS_PREFIX,
    NextHop: SOCKADDR_INET,
    SitePrefixLength: 'uint8_t',
    ValidLifetime: 'uint32_t',
    PreferredLifetime: 'uint32_t',
    Metric: 'uint32_t',
    Protocol: 'int32_t', // NL_ROUTE_PROTOCOL
    Loopback: 'uint8_t',
    AutoconfigureAddress: 'uint8_t',
    Publish: 'uint8_t',
    Immortal: 'uint8_t',
    Age: 'uint32_t',
    Origin: 'int32_t', // NL_ROUTE_ORIGIN
  });
  const MIB_IPFORWARD_TABLE2 = koffi.struct({
    NumEntries: 'uint32_t',
    Table: koffi.array(MIB_IPFORWARD_ROW2, 1),
  });

  const MIB_IPINTERFACE_ROW = koffi.struct({
    Family: 'uint16_t',
    InterfaceLuid: 'uint64_t',
    InterfaceIndex: 'uint32_t',
    MaxReassemblySize: 'uint32_t',
    InterfaceIdentifier: 'uint64_t',
    MinRouterAdvertisementInterval: 'uint32_t',
    MaxRouterAdvertisementInterval: 'uint32_t',
    AdvertisingEnabled: 'uint8_t',
    ForwardingEnabled: 'uint8_t',
    WeakHostSend: 'uint8_t',
    WeakHostReceive: 'uint8_t',
    UseAutomaticMetric: 'uint8_t',
    UseNeighborUnreachabilityDetection: 'uint8_t',
    ManagedAddressConfigurationSupported: 'uint8_t',
    OtherStatefulConfigurationSupported: 'uint8_t',
    AdvertiseDefaultRoute: 'uint8_t',
    RouterDiscoveryBehavior: 'int32_t',
    DadTransmits: 'uint32_t',
    BaseReachableTime: 'uint32_t',
    RetransmitTime: 'uint32_t',
    PathMtuDiscoveryTimeout: 'uint32_t',
    LinkLocalAddressBehavior: 'int32_t',
    LinkLocalAddressTimeout: 'uint32_t',
    ZoneIndices: koffi.array('uint32_t', 16, 'Typed'), // ScopeLevelCount
    SitePrefixLength: 'uint32_t',
    Metric: 'uint32_t',
    NlMtu: 'uint32_t',
    Connected: 'uint8_t',
    SupportsWakeUpPatterns: 'uint8_t',
    SupportsNeighborDiscovery: 'uint8_t',
    SupportsRouterDiscovery: 'uint8_t',
    ReachableTime: 'uint32_t',
    TransmitOffload: 'uint8_t', // NL_INTERFACE_OFFLOAD_ROD bit field byte
    ReceiveOffload: 'uint8_t',
    DisableDefaultRoutes: 'uint8_t',
  });

  const SOCKET_ADDRESS = koffi.struct({ lpSockaddr: ptr, iSockaddrLength: 'int32_t' });
  const IP_ADAPTER_UNICAST_ADDRESS = koffi.struct({
    Length: 'uint32_t',
    Flags: 'uint32_t',
    Next: ptr,
    Address: SOCKET_ADDRESS,
    PrefixOrigin: 'int32_t',
    SuffixOrigin: 'int32_t',
    DadState: 'int32_t',
    ValidLifetime: 'uint32_t',
    PreferredLifetime: 'uint32_t',
    LeaseLifetime: 'uint32_t',
    OnLinkPrefixLength: 'uint8_t',
  });
  const IP_ADAPTER_ADDRESSES = koffi.struct({
    Length: 'uint32_t',
    IfIndex: 'uint32_t',
    Next: ptr,
    AdapterName: ptr, // PCHAR
    FirstUnicastAddress: ptr,
    FirstAnycastAddress: ptr,
    FirstMulticastAddress: ptr,
    FirstDnsServerAddress: ptr,
    DnsSuffix: ptr, // PWCHAR
    Description: ptr, // PWCHAR
    FriendlyName: ptr, // PWCHAR; decoded by hand so the buffer's own memory is read, never freed
    PhysicalAddress: u8(8),
    PhysicalAddressLength: 'uint32_t',
    Flags: 'uint32_t',
    Mtu: 'uint32_t',
    IfType: 'uint32_t',
    OperStatus: 'int32_t', // IF_OPER_STATUS, 1 = IfOperStatusUp
    Ipv6IfIndex: 'uint32_t',
    ZoneIndices: koffi.array('uint32_t', 16, 'Typed'),
    FirstPrefix: ptr,
    TransmitLinkSpeed: 'uint64_t',
    ReceiveLinkSpeed: 'uint64_t',
    FirstWinsServerAddress: ptr,
    FirstGatewayAddress: ptr,
    Ipv4Metric: 'uint32_t',
    Ipv6Metric: 'uint32_t',
    Luid: 'uint64_t',
    Dhcpv4Server: SOCKET_ADDRESS,
    CompartmentId: 'uint32_t',
    NetworkGuid: koffi.struct({ Data1: 'uint32_t', Data2: 'uint16_t', Data3: 'uint16_t', Data4: u8(8) }),
    ConnectionType: 'int32_t',
    TunnelType: 'int32_t',
    Dhcpv6Server: SOCKET_ADDRESS,
    Dhcpv6ClientDuid: u8(130),
    Dhcpv6ClientDuidLength: 'uint32_t',
    Dhcpv6Iaid: 'uint32_t',
    FirstDnsSuffix: ptr,
  });

  return {
    SOCKADDR_IN,
    SOCKADDR_IN6,
    SOCKADDR_INET,
    IP_ADDRESS_PREFIX,
    MIB_IPFORWARD_ROW2,
    MIB_IPFORWARD_TABLE2,
    MIB_IPINTERFACE_ROW,
    SOCKET_ADDRESS,
    IP_ADAPTER_UNICAST_ADDRESS,
    IP_ADAPTER_ADDRESSES,
  };
}

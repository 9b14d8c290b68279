import test from 'ava';
import { requireKoffi } from '../../../src/routes/iphlpapi/iphlpapi-library.js';
import { win32Layout } from '../../../src/routes/iphlpapi/win32-layout.js';

// Windows x64 sizes and offsets (shared/compat/hns.md §6; WireGuard winipcfg's asserted constants).
const koffi = requireKoffi();
const L = win32Layout(koffi);

function offsets(type: Parameters<typeof koffi.offsetof>[0], names: string[]): Record<string, number> {
  return Object.fromEntries(names.map((n) => [n, koffi.offsetof(type, n)]));
}

test('sockaddr and prefix sizes match Windows x64', (t) => {
  t.is(koffi.sizeof(L.SOCKADDR_IN), 16);
  t.is(koffi.sizeof(L.SOCKADDR_IN6), 28);
  t.is(koffi.sizeof(L.SOCKADDR_INET), 28);
  t.is(koffi.alignof(L.SOCKADDR_INET), 4);
  t.is(koffi.sizeof(L.IP_ADDRESS_PREFIX), 32);
  t.is(koffi.offsetof(L.IP_ADDRESS_PREFIX, 'PrefixLength'), 28);
  t.deepEqual(offsets(L.SOCKADDR_IN6, ['sin6_port', 'sin6_flowinfo', 'sin6_addr', 'sin6_scope_id']), {
    sin6_port: 2,
    sin6_flowinfo: 4,
    sin6_addr: 8,
    sin6_scope_id: 24,
  });
});

test('MIB_IPFORWARD_ROW2 is 104 bytes with the Windows offsets', (t) => {
  t.is(koffi.sizeof(L.MIB_IPFORWARD_ROW2), 104);
  t.deepEqual(
    offsets(L.MIB_IPFORWARD_ROW2, [
      'InterfaceLuid', 'InterfaceIndex', 'DestinationPrefix', 'NextHop', 'SitePrefixLength', 'ValidLifetime',
      'PreferredLifetime', 'Metric', 'Protocol', 'Loopback', 'AutoconfigureAddress', 'Publish', 'Immortal', 'Age', 'Origin',
    ]),
    {
      InterfaceLuid: 0, InterfaceIndex: 8, DestinationPrefix: 12, NextHop: 44, SitePrefixLength: 72, ValidLifetime: 76,
      PreferredLifetime: 80, Metric: 84, Protocol: 88, Loopback: 92, AutoconfigureAddress: 93, Publish: 94, Immortal: 95,
      Age: 96, Origin: 100,
    },
  );
  t.is(koffi.offsetof(L.MIB_IPFORWARD_TABLE2, 'Table'), 8);
  t.is(koffi.sizeof(L.MIB_IPFORWARD_TABLE2), 112);
});

test('MIB_IPINTERFACE_ROW is 168 bytes with the Windows offsets', (t) => {
  t.is(koffi.sizeof(L.MIB_IPINTERFACE_ROW), 168);
  t.deepEqual(
    offsets(L.MIB_IPINTERFACE_ROW, [
      'Family', 'InterfaceLuid', 'InterfaceIndex', 'InterfaceIdentifier', 'AdvertisingEnabled', 'ForwardingEnabled',
      'RouterDiscoveryBehavior', 'LinkLocalAddressTimeout', 'ZoneIndices', 'SitePrefixLength', 'Metric', 'NlMtu',
      'Connected', 'ReachableTime', 'TransmitOffload', 'DisableDefaultRoutes',
    ]),
    {
      Family: 0, InterfaceLuid: 8, InterfaceIndex: 16, InterfaceIdentifier: 24, AdvertisingEnabled: 40, ForwardingEnabled: 41,
      RouterDiscoveryBehavior: 52, LinkLocalAddressTimeout: 76, ZoneIndices: 80, SitePrefixLength: 144, Metric: 148, NlMtu: 152,
      Connected: 156, ReachableTime: 160, TransmitOffload: 164, DisableDefaultRoutes: 166,
    },
  );
});

test('IP_ADAPTER_ADDRESSES and IP_ADAPTER_UNICAST_ADDRESS match Windows x64', (t) => {
  t.is(koffi.sizeof(L.IP_ADAPTER_ADDRESSES), 448);
  t.deepEqual(
    offsets(L.IP_ADAPTER_ADDRESSES, [
      'IfIndex', 'Next', 'AdapterName', 'FirstUnicastAddress', 'FriendlyName', 'PhysicalAddress', 'Mtu', 'IfType',
      'OperStatus', 'Ipv6IfIndex', 'ZoneIndices', 'FirstPrefix', 'TransmitLinkSpeed', 'Ipv4Metric', 'Luid',
      'Dhcpv4Server', 'CompartmentId', 'NetworkGuid', 'ConnectionType', 'Dhcpv6Server', 'Dhcpv6ClientDuid',
      'Dhcpv6ClientDuidLength', 'Dhcpv6Iaid', 'FirstDnsSuffix',
    ]),
    {
      IfIndex: 4, Next: 8, AdapterName: 16, FirstUnicastAddress: 24, FriendlyName: 72, PhysicalAddress: 80, Mtu: 96, IfType: 100,
      OperStatus: 104, Ipv6IfIndex: 108, ZoneIndices: 112, FirstPrefix: 176, TransmitLinkSpeed: 184, Ipv4Metric: 216, Luid: 224,
      Dhcpv4Server: 232, CompartmentId: 248, NetworkGuid: 252, ConnectionType: 268, Dhcpv6Server: 280, Dhcpv6ClientDuid: 296,
      Dhcpv6ClientDuidLength: 428, Dhcpv6Iaid: 432, FirstDnsSuffix: 440,
    },
  );
  t.is(koffi.sizeof(L.IP_ADAPTER_UNICAST_ADDRESS), 64);
  t.deepEqual(offsets(L.IP_ADAPTER_UNICAST_ADDRESS, ['Next', 'Address', 'PrefixOrigin', 'LeaseLifetime', 'OnLinkPrefixLength']), {
    Next: 8,
    Address: 16,
    PrefixOrigin: 32,
    LeaseLifetime: 52,
    OnLinkPrefixLength: 56,
  });
});

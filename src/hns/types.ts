/**
 * The HCN v2 (schema 2.0) documents we send to and read from HNS, with the JSON key names HNS
 * uses (note `ID`, upper case). Only the fields flannel-win uses are typed; unknown fields read
 * back from HNS are kept by the drivers (documents are passed through as parsed JSON).
 */

export interface SchemaVersion {
  Major: number;
  Minor: number;
}

export const SCHEMA_V2: SchemaVersion = { Major: 2, Minor: 0 };

export type NetworkType = 'NAT' | 'ICS' | 'Transparent' | 'L2Bridge' | 'L2Tunnel' | 'Overlay' | 'Private' | 'Internal';

/** Network flags (integer bit field). */
export const NetworkFlags = {
  None: 0,
  EnableNonPersistent: 8,
  DisableHostPort: 1024,
  EnableIov: 8192,
} as const;

export const EndpointFlags = {
  None: 0,
  RemoteEndpoint: 1,
} as const;

// ---- network policies ----

export interface RemoteSubnetRoutePolicySetting {
  DestinationPrefix: string;
  IsolationId: number;
  ProviderAddress: string;
  DistributedRouterMacAddress: string;
}

export type NetworkPolicy =
  | { Type: 'NetAdapterName'; Settings: { NetworkAdapterName: string } }
  | { Type: 'DrMacAddress'; Settings: { Address: string } }
  | { Type: 'ProviderAddress'; Settings: { ProviderAddress: string } }
  | { Type: 'RemoteSubnetRoute'; Settings: RemoteSubnetRoutePolicySetting }
  | { Type: 'HostRoute'; Settings: Record<string, never> }
  | { Type: 'VxlanPort'; Settings: { Port: number } }
  | { Type: 'SourceMacAddress'; Settings: { SourceMacAddress: string } }
  | { Type: 'AutomaticDNS'; Settings: { Enable: boolean } }
  | { Type: string; Settings: Record<string, unknown> };

export interface SubnetPolicy {
  Type: 'VSID' | 'VLAN';
  Settings: { IsolationId: number };
}

export interface Route {
  NextHop: string;
  DestinationPrefix: string;
  Metric?: number;
}

export interface Subnet {
  IpAddressPrefix?: string;
  Policies?: SubnetPolicy[];
  Routes?: Route[];
  Flags?: number;
}

export interface Ipam {
  Type: 'Static' | 'Dhcp';
  Subnets: Subnet[];
}

export interface Dns {
  Domain?: string;
  Search?: string[];
  ServerList?: string[];
  Options?: string[];
}

export interface HostComputeNetwork {
  ID?: string;
  Name: string;
  Type?: NetworkType | string;
  Policies?: NetworkPolicy[];
  MacPool?: { Ranges?: { StartMacAddress: string; EndMacAddress: string }[] };
  Dns?: Dns;
  Ipams?: Ipam[];
  Flags?: number;
  SchemaVersion: SchemaVersion;
  /** Read back from HNS only; never sent. */
  Health?: Record<string, unknown>;
}

// ---- endpoints ----

export interface AclPolicySetting {
  Id?: string;
  Protocols?: string;
  Action: 'Allow' | 'Block' | 'Pass';
  Direction: 'In' | 'Out';
  LocalAddresses?: string;
  RemoteAddresses?: string;
  LocalPorts?: string;
  RemotePorts?: string;
  RuleType?: 'Host' | 'Switch';
  Priority?: number;
}

export type EndpointPolicy =
  | { Type: 'ACL'; Settings: AclPolicySetting }
  | { Type: 'ProviderAddress'; Settings: { ProviderAddress: string } }
  | { Type: 'OutBoundNAT'; Settings: Record<string, unknown> }
  | { Type: 'SDNRoute'; Settings: { DestinationPrefix: string; NextHop?: string; NeedEncap?: boolean } }
  | { Type: string; Settings: Record<string, unknown> };

export interface IpConfig {
  IpAddress: string;
  PrefixLength?: number;
}

export interface HostComputeEndpoint {
  ID?: string;
  Name?: string;
  HostComputeNetwork?: string;
  /** Read-only: HNS rejects it on create. */
  HostComputeNamespace?: string;
  Policies?: EndpointPolicy[];
  IpConfigurations?: IpConfig[];
  Dns?: Dns;
  Routes?: Route[];
  MacAddress?: string;
  Flags?: number;
  SchemaVersion: SchemaVersion;
  Health?: Record<string, unknown>;
}

// ---- requests ----

export interface HostComputeQuery {
  SchemaVersion: SchemaVersion;
  /** 0 = standard properties, 1 = detailed. Omitted when 0. */
  Flags?: number;
  /** A JSON object serialised into a string, e.g. "{\"Name\":\"cbr0\"}". Omitted when empty. */
  Filter?: string;
}

export type ModifyRequestType = 'Add' | 'Remove' | 'Update' | 'Refresh';

export interface ModifyNetworkSettingRequest {
  ResourceType: 'Policy' | 'DNS' | 'Extension' | 'Subnet' | 'IPSubnet';
  RequestType: ModifyRequestType;
  Settings: { Policies: NetworkPolicy[] };
}

export interface ModifyEndpointSettingRequest {
  ResourceType: 'Policy' | 'Port';
  RequestType: ModifyRequestType;
  Settings: { Policies: EndpointPolicy[] };
}

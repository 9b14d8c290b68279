import { SCHEMA_V2, type HostComputeQuery } from './types.js';

/**
 * HostComputeQuery builders. HNS wants `Filter` as a JSON object serialised into a string (not a
 * nested object), and Flags/Filter left out entirely when unused, which is what hcsshim sends.
 */

export function defaultQuery(): HostComputeQuery {
  return { SchemaVersion: { ...SCHEMA_V2 } };
}

/** A query whose Filter holds the given keys; undefined values are dropped, none at all = default. */
export function filteredQuery(filter: Record<string, string | undefined>): HostComputeQuery {
  const kept = Object.fromEntries(Object.entries(filter).filter(([, v]) => v !== undefined));
  const query = defaultQuery();
  if (Object.keys(kept).length > 0) query.Filter = JSON.stringify(kept);
  return query;
}

export function nameQuery(name: string): HostComputeQuery {
  return filteredQuery({ Name: name });
}

export function idQuery(id: string): HostComputeQuery {
  return filteredQuery({ ID: id });
}

/**
 * Endpoints of one network. HNS matches this filter on the v1 field name `VirtualNetwork`, not
 * the v2 `HostComputeNetwork` (hcsshim's ListEndpointsOfNetwork notes the query schema is not
 * converted). A name may narrow it further.
 */
export function endpointsQuery(filter: { networkId?: string; name?: string }): HostComputeQuery {
  return filteredQuery({ VirtualNetwork: filter.networkId, Name: filter.name });
}

/** Serialises a query exactly as it goes to HNS. */
export function queryText(query: HostComputeQuery): string {
  return JSON.stringify(query);
}

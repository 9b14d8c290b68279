/**
 * `flannel-win status` as text: the daemon's /status document turned into a summary an
 * operator reads top to bottom. Pure: the document in, lines out; unknown fields are ignored,
 * missing ones shown as "-", so an older or newer daemon still gives a useful summary.
 * @module
 */

type Doc = Record<string, unknown>;

function obj(value: unknown): Doc | undefined {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Doc) : undefined;
}

function str(value: unknown): string {
  if (value === undefined || value === null || value === '') return '-';
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return JSON.stringify(value);
}

/** "3d 4h", "2h 5m", "42s". */
export function formatDuration(seconds: number): string {
  const s = Math.max(0, Math.floor(seconds));
  const d = Math.floor(s / 86_400);
  const h = Math.floor((s % 86_400) / 3600);
  const m = Math.floor((s % 3600) / 60);
  if (d > 0) return `${d}d ${h}h`;
  if (h > 0) return `${h}h ${m}m`;
  if (m > 0) return `${m}m ${s % 60}s`;
  return `${s}s`;
}

/** "2026-11-29T11:00:00.000Z (in 23h 59m)" or "(5s ago)". */
function when(iso: unknown, now: Date): string {
  if (typeof iso !== 'string') return '-';
  const at = Date.parse(iso);
  if (Number.isNaN(at)) return iso;
  const delta = (at - now.getTime()) / 1000;
  return `${iso} (${delta >= 0 ? `in ${formatDuration(delta)}` : `${formatDuration(-delta)} ago`})`;
}

function peerLines(peerList: Doc | undefined): string[] {
  const peers = Array.isArray(peerList?.['peers']) ? (peerList['peers'] as Doc[]) : [];
  if (peers.length === 0) return ['  (none)'];
  const counts = new Map<string, number>();
  for (const p of peers) counts.set(str(p['state']), (counts.get(str(p['state'])) ?? 0) + 1);
  const lines = [`  ${[...counts].map(([state, n]) => `${n} ${state}`).join(', ')}`];
  const width = Math.max(...peers.map((p) => str(p['subnet']).length));
  for (const p of peers) {
    const who = [p['node'], p['publicIp']].filter((x) => typeof x === 'string' && x !== '').join(' ');
    const detail = p['lastError'] !== undefined ? `: ${str(p['lastError'])}` : p['reason'] !== undefined ? `: ${str(p['reason'])}` : '';
    lines.push(`  ${str(p['subnet']).padEnd(width)}  ${str(p['state']).padEnd(10)} ${who}${detail}`);
  }
  if (peerList?.['truncated'] === true) lines.push('  … more peers not listed (see the count above and the peers metrics)');
  return lines;
}

function policyLines(controllers: Doc | undefined): string[] {
  const policy = obj(controllers?.['policy']);
  if (policy === undefined) return ['Policy:      not enforced (no policy controller running)'];
  const fields = Object.entries(policy)
    .filter(([, v]) => typeof v !== 'object' || v === null)
    .map(([k, v]) => `${k}=${str(v)}`);
  const lines = [`Policy:      ${fields.join(' ')}`];
  const waiting = obj(policy['podsWithoutEndpoint']);
  if (typeof waiting?.['count'] === 'number' && waiting['count'] > 0) lines.push(`  pods without an HNS endpoint yet: ${waiting['count']} ${str(waiting['first'])}`);
  const lastError = obj(policy['reconciler'])?.['lastError'];
  if (lastError !== undefined && policy['endpointsFailing'] !== 0) lines.push(`  last ACL write error: ${str(lastError)}`);
  for (const [what, entries] of [['problems', policy['problems']], ['foreign ACLs', policy['foreignAcls']]] as const) {
    for (const [key, value] of Object.entries(obj(entries) ?? {})) lines.push(`  ${what}: ${key}: ${str(value)}`);
  }
  return lines;
}

/** The summary `flannel-win status` prints for a /status document. */
export function renderStatus(status: Doc, now = new Date()): string {
  const version = obj(status['version']);
  const backend = obj(status['backend']);
  const network = obj(status['network']);
  const store = obj(status['store']);
  const cni = obj(status['cni']);
  const vip = obj(cni?.['sourceVip']);
  const notReady = Array.isArray(status['notReady']) ? (status['notReady'] as unknown[]).map(str) : [];
  const uptime = typeof status['uptimeSeconds'] === 'number' ? formatDuration(status['uptimeSeconds']) : '-';
  const lines = [
    `Version:     ${version ? `${str(version['version'])} (commit ${str(version['commit'])}, built ${str(version['buildDate'])}, node ${str(version['node'])})` : '-'}`,
    `Uptime:      ${uptime} (since ${str(status['startedAt'])})`,
    `Ready:       ${status['ready'] === true ? 'yes' : `no${notReady.length > 0 ? `: ${notReady.join('; ')}` : ''}`}`,
    `Lease:       ${str(status['lease'])} via ${str(status['subnetManager'])}, expires ${status['leaseExpiresAt'] === undefined ? 'never (kept by the node object or the local file)' : when(status['leaseExpiresAt'], now)}`,
    `Network:     ${backend ? Object.entries(backend).map(([k, v]) => `${k}=${str(v)}`).join(' ') : '-'}`,
    `             present=${str(network?.['present'])} recreations=${str(network?.['recreations'])} repairs=${str(network?.['repairs'])}${network?.['lastError'] !== undefined ? ` lastError=${str(network['lastError'])}` : ''}`,
    `Store:       ${str(store?.['kind'])} watch ${str(store?.['watch'])}, last event ${when(store?.['lastEventAt'], now)}, restarts ${str(store?.['restarts'])}${store?.['lastError'] !== undefined ? `, last error: ${str(store['lastError'])}` : ''}`,
    `Resync:      last ${when(status['lastResyncAt'], now)}, drift repaired ${str(status['driftRepaired'])}`,
    `Source VIP:  ${vip ? `${str(vip['address'])} (${str(vip['file'])})` : 'none'}${cni?.['error'] !== undefined ? `; CNI error: ${str(cni['error'])}` : ''}`,
    ...policyLines(obj(status['controllers'])),
    `Peers:       ${str(status['peers'])}`,
    ...peerLines(obj(status['peerList'])),
    '',
  ];
  return lines.join('\n');
}

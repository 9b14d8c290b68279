/**
 * Asks the running daemon's `/policy/flow` for the Kubernetes-semantics verdict of one
 * connection (see src/daemon/policy-flow-route.ts) and sorts its reply into what `explain`
 * does next: compare, report why no comparison was made, or fail for a question about a pod.
 * @module
 */
import { describeError } from '../errors.js';
import type { FlowAnswer } from '../policy/flow-question.js';
import { daemonBaseUrl, fetchFromDaemon, type DaemonAddressOptions } from './daemon-address.js';

/**
 * `answer`: the verdict. `unavailable`: no verdict, for a reason that leaves the programmed
 * ACLs worth reporting (no daemon address, no answer, enforcement off, still starting).
 * `refused`: the daemon refused the question itself (no such pod, an ambiguous address).
 */
export type DaemonFlowReply =
  | { readonly kind: 'answer'; readonly answer: FlowAnswer }
  | { readonly kind: 'unavailable'; readonly code: string; readonly reason: string }
  | { readonly kind: 'refused'; readonly code: string; readonly reason: string };

/** The question as the route reads it. */
export interface DaemonFlowQuery {
  readonly from: string;
  readonly to: string;
  readonly port: number;
  readonly protocol: number;
}

const UNAVAILABLE_CODES: ReadonlySet<string> = new Set(['POLICY_ENFORCEMENT_OFF', 'DAEMON_STARTING', 'POLICY_NOT_LOADED']);

function errorBody(text: string): { code: string; message: string } | undefined {
  try {
    const body = JSON.parse(text) as { code?: unknown; message?: unknown };
    return typeof body.code === 'string' && typeof body.message === 'string' ? { code: body.code, message: body.message.slice(0, 500) } : undefined;
  } catch {
    return undefined;
  }
}

/** Asks the daemon at `address`; never throws. */
export async function askDaemonAboutFlow(address: DaemonAddressOptions, query: DaemonFlowQuery): Promise<DaemonFlowReply> {
  let base: URL;
  try {
    base = daemonBaseUrl(address);
  } catch (err) {
    return { kind: 'unavailable', code: 'NO_DAEMON_ADDRESS', reason: describeError(err) };
  }
  const params = new URLSearchParams({ from: query.from, to: query.to, port: String(query.port), protocol: String(query.protocol) });
  const path = `/policy/flow?${params}`;
  let reply: { status: number; text: string };
  try {
    reply = await fetchFromDaemon(base, path);
  } catch (err) {
    return { kind: 'unavailable', code: 'DAEMON_UNREACHABLE', reason: describeError(err) };
  }
  const url = new URL('/policy/flow', base).href;
  if (reply.status === 200) {
    try {
      return { kind: 'answer', answer: JSON.parse(reply.text) as FlowAnswer };
    } catch {
      return { kind: 'unavailable', code: 'BAD_DAEMON_REPLY', reason: `${url} answered 200 with a body that is not JSON: ${reply.text.slice(0, 200)}` };
    }
  }
  const body = errorBody(reply.text);
  if (!body) {
    const why = reply.status === 404 ? ' (a daemon older than this command has no such route)' : '';
    return { kind: 'unavailable', code: `HTTP_${reply.status}`, reason: `${url} answered ${reply.status}${why}: ${reply.text.slice(0, 200)}` };
  }
  if (UNAVAILABLE_CODES.has(body.code)) return { kind: 'unavailable', code: body.code, reason: body.message };
  return { kind: 'refused', code: body.code, reason: `the daemon (${url}) refused the question: ${body.message}` };
}

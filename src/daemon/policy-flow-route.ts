/**
 * `GET /policy/flow?from=..&to=..&port=..&protocol=..` on the health server: the Kubernetes-
 * semantics verdict for one connection from the daemon's own view of the cluster, for
 * `flannel-win explain`. Read-only; the work is two lookups and the policies of two namespaces.
 * Answers JSON: the verdict (200), or `{code, message}` with 400 (a bad query), 404 (no such
 * pod; `POLICY_ENFORCEMENT_OFF` when the daemon enforces no NetworkPolicy), 409 (the pod cannot
 * be a flow end now), 503 (the daemon or its cluster view is still starting).
 * @module
 */
import { describeError, FlannelWinError } from '../errors.js';
import { parseFlowQuery, type FlowAnswer, type FlowQuestion } from '../policy/flow-question.js';

/** What answers a flow question: the policy controller, once its cluster view is loaded. */
export interface FlowExplainer {
  /** @throws FlowQuestionError (flow-question.ts) for a question about a pod it cannot use; FlannelWinError `POLICY_NOT_LOADED` before its first snapshot. */
  explainFlow(question: FlowQuestion): FlowAnswer;
}

/** An HTTP answer: status and JSON body. */
export interface RouteReply {
  readonly status: number;
  readonly body: unknown;
}

const STATUS_BY_CODE: Readonly<Record<string, number>> = {
  BAD_FLOW_QUERY: 400,
  POD_NOT_FOUND: 404,
  POD_FINISHED: 409,
  POD_HAS_NO_IPV4: 409,
  ADDRESS_AMBIGUOUS: 409,
  POLICY_NOT_LOADED: 503,
};

function failure(status: number, code: string, message: string): RouteReply {
  return { status, body: { code, message } };
}

/**
 * Answers one request. `explainer` is `'starting'` while the daemon has not built its
 * controllers yet, `undefined` when none holds a policy view (enforcement off).
 */
export function answerPolicyFlow(params: URLSearchParams, explainer: FlowExplainer | 'starting' | undefined): RouteReply {
  let question: FlowQuestion;
  try {
    question = parseFlowQuery(params);
  } catch (err) {
    return failure(400, 'BAD_FLOW_QUERY', describeError(err));
  }
  if (explainer === 'starting') return failure(503, 'DAEMON_STARTING', 'the daemon is still starting (network config, lease or HNS network pending); ask again once it is running');
  if (explainer === undefined) {
    return failure(404, 'POLICY_ENFORCEMENT_OFF', 'this daemon enforces no NetworkPolicy (--network-policy=false, or no Kubernetes API configured), so it holds no view of pods and policies');
  }
  try {
    return { status: 200, body: explainer.explainFlow(question) };
  } catch (err) {
    if (err instanceof FlannelWinError) {
      const status = STATUS_BY_CODE[err.code];
      if (status !== undefined) return failure(status, err.code, err.message);
    }
    return failure(500, 'INTERNAL', describeError(err).slice(0, 300));
  }
}

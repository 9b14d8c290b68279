import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { applyStatusPatch, type NodeStatusPatch, type TestNode } from './kube-node-patch.js';
import { testTlsMaterial } from './kube-tls.js';

export type { TestNode } from './kube-node-patch.js';

export interface NodeInput {
  name: string;
  podCIDR?: string;
  podCIDRs?: string[];
  annotations?: Record<string, string>;
  labels?: Record<string, string>;
}

export interface RecordedRequest {
  readonly method: string;
  readonly path: string;
  readonly query: Readonly<Record<string, string>>;
  readonly contentType: string | undefined;
  /** Parsed JSON when the body was JSON, else the text ("" for none). */
  readonly body: unknown;
}

interface WatchConnection {
  readonly res: ServerResponse;
  readonly nodeName: string | undefined;
  readonly bookmarks: boolean;
  paused: boolean;
}

interface HistoryEntry {
  readonly rv: number;
  readonly type: 'ADDED' | 'MODIFIED' | 'DELETED';
  readonly node: TestNode;
}

interface InjectedFailure {
  readonly method: string;
  readonly path: RegExp;
  readonly status: number;
  remaining: number;
}

const STRATEGIC_MERGE = 'application/strategic-merge-patch+json';

/**
 * A small HTTPS Kubernetes API server for the kube subnet manager's tests: nodes (get, list,
 * watch from a resourceVersion, 410 for an expired one), the nodes/status PATCH (strategic
 * merge of metadata.annotations and of status.conditions by type), and pods get. Bearer token
 * auth and a CA it generates, as a real server has. Tests steer it through the methods below
 * and read `requests` to check what the client sent.
 */
export class KubeApiServer {
  readonly requests: RecordedRequest[] = [];
  /** How an expired resourceVersion is reported on a watch: an ERROR event in a 200 stream (a
   * real server) or an HTTP 410 response. */
  goneAs: 'event' | 'status' = 'event';

  readonly #server: Server;
  readonly #dir: string;
  readonly #nodes = new Map<string, TestNode>();
  readonly #pods = new Map<string, { nodeName: string }>();
  readonly #watches = new Set<WatchConnection>();
  readonly #failures: InjectedFailure[] = [];
  #history: HistoryEntry[] = [];
  #rv = 100;
  /** Watches from a resourceVersion below this get 410 Gone. */
  #oldestRv = 0;
  #uid = 0;

  readonly url: string;
  readonly token: string;
  readonly caCert: string;
  readonly kubeconfigPath: string;

  private constructor(server: Server, dir: string, url: string, token: string, caCert: string, kubeconfigPath: string) {
    this.#server = server;
    this.#dir = dir;
    this.url = url;
    this.token = token;
    this.caCert = caCert;
    this.kubeconfigPath = kubeconfigPath;
  }

  static async start(options: { token?: string } = {}): Promise<KubeApiServer> {
    const tls = await testTlsMaterial();
    const token = options.token ?? 'test-token';
    let self: KubeApiServer | undefined;
    const server = createServer({ key: tls.serverKey, cert: tls.serverCert }, (req, res) => {
      if (self) self.#handle(req, res);
      else res.destroy();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const url = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const dir = await mkdtemp(join(tmpdir(), 'flannel-win-kubeapi-'));
    const kubeconfigPath = join(dir, 'kubeconfig');
    const kubeconfig = {
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [{ name: 'test', cluster: { server: url, 'certificate-authority-data': Buffer.from(tls.caCert).toString('base64') } }],
      users: [{ name: 'flannel', user: { token } }],
      contexts: [{ name: 'test', context: { cluster: 'test', user: 'flannel' } }],
      'current-context': 'test',
    };
    await writeFile(kubeconfigPath, JSON.stringify(kubeconfig, null, 2));
    self = new KubeApiServer(server, dir, url, token, tls.caCert, kubeconfigPath);
    return self;
  }

  // ---- controls -------------------------------------------------------------------------

  addNode(input: NodeInput): TestNode {
    if (this.#nodes.has(input.name)) throw new Error(`node ${input.name} exists`);
    const node: TestNode = {
      apiVersion: 'v1',
      kind: 'Node',
      metadata: { name: input.name, uid: `uid-${++this.#uid}`, resourceVersion: '' },
      spec: {},
      status: { conditions: [] },
    };
    if (input.annotations) node.metadata.annotations = { ...input.annotations };
    if (input.labels) node.metadata.labels = { ...input.labels };
    if (input.podCIDR !== undefined) node.spec.podCIDR = input.podCIDR;
    if (input.podCIDRs !== undefined) node.spec.podCIDRs = [...input.podCIDRs];
    this.#commit('ADDED', node);
    return clone(node);
  }

  /** Changes a node in place (as another controller would) and emits MODIFIED. */
  updateNode(name: string, mutate: (node: TestNode) => void): TestNode {
    const node = this.#nodes.get(name);
    if (!node) throw new Error(`no node ${name}`);
    const copy = clone(node);
    mutate(copy);
    this.#commit('MODIFIED', copy);
    return clone(copy);
  }

  deleteNode(name: string): void {
    const node = this.#nodes.get(name);
    if (!node) throw new Error(`no node ${name}`);
    this.#commit('DELETED', clone(node));
  }

  node(name: string): TestNode | undefined {
    const node = this.#nodes.get(name);
    return node ? clone(node) : undefined;
  }

  addPod(namespace: string, name: string, nodeName: string): void {
    this.#pods.set(`${namespace}/${name}`, { nodeName });
  }

  /** Ends every open watch stream cleanly (as a server restart or its timeout does). */
  dropWatches(): number {
    const count = this.#watches.size;
    for (const watch of this.#watches) watch.res.end();
    this.#watches.clear();
    return count;
  }

  /** Open watches stop receiving anything but stay connected (a hung stream). */
  pauseWatches(): number {
    for (const watch of this.#watches) watch.paused = true;
    return this.#watches.size;
  }

  /** Forgets the event history: any watch from a resourceVersion before now gets 410 Gone. */
  expireResourceVersions(): void {
    this.#oldestRv = this.#rv;
    this.#history = [];
  }

  /** Sends a BOOKMARK to watches that asked for them. */
  sendBookmarks(): void {
    for (const watch of this.#watches) {
      if (watch.bookmarks && !watch.paused) {
        writeEvent(watch.res, 'BOOKMARK', { kind: 'Node', apiVersion: 'v1', metadata: { resourceVersion: String(this.#rv) } });
      }
    }
  }

  /** The next `times` requests matching method and path are answered with `status`. */
  failRequests(method: string, path: RegExp, status: number, times = 1): void {
    this.#failures.push({ method, path, status, remaining: times });
  }

  /** Watch streams currently open and not paused. */
  get activeWatches(): number {
    let count = 0;
    for (const watch of this.#watches) if (!watch.paused) count++;
    return count;
  }

  get resourceVersion(): string {
    return String(this.#rv);
  }

  requestsTo(method: string, path: string): RecordedRequest[] {
    return this.requests.filter((r) => r.method === method && r.path === path);
  }

  async close(): Promise<void> {
    for (const watch of this.#watches) watch.res.destroy();
    this.#watches.clear();
    this.#server.closeAllConnections();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
    await rm(this.#dir, { recursive: true, force: true });
  }

  // ---- state ----------------------------------------------------------------------------

  #commit(type: HistoryEntry['type'], node: TestNode): void {
    this.#rv++;
    node.metadata.resourceVersion = String(this.#rv);
    if (type === 'DELETED') this.#nodes.delete(node.metadata.name);
    else this.#nodes.set(node.metadata.name, node);
    const entry: HistoryEntry = { rv: this.#rv, type, node: clone(node) };
    this.#history.push(entry);
    for (const watch of this.#watches) {
      if (!watch.paused && (watch.nodeName === undefined || watch.nodeName === node.metadata.name)) {
        writeEvent(watch.res, type, entry.node);
      }
    }
  }

  // ---- HTTP -----------------------------------------------------------------------------

  #handle(req: IncomingMessage, res: ServerResponse): void {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const url = new URL(req.url ?? '/', this.url);
      const text = Buffer.concat(chunks).toString('utf8');
      let body: unknown = text;
      try {
        if (text !== '') body = JSON.parse(text);
      } catch {
        // kept as text: the test sees what was sent
      }
      const method = req.method ?? 'GET';
      this.requests.push({
        method,
        path: url.pathname,
        query: Object.fromEntries(url.searchParams),
        contentType: req.headers['content-type'],
        body,
      });
      if (req.headers.authorization !== `Bearer ${this.token}`) {
        sendStatus(res, 401, 'Unauthorized', 'Unauthorized');
        return;
      }
      const failure = this.#failures.find((f) => f.remaining > 0 && f.method === method && f.path.test(url.pathname));
      if (failure) {
        failure.remaining--;
        sendStatus(res, failure.status, 'InternalError', `injected failure ${failure.status}`);
        return;
      }
      this.#route(method, url, req.headers['content-type'], body, res);
    });
  }

  #route(method: string, url: URL, contentType: string | undefined, body: unknown, res: ServerResponse): void {
    const path = url.pathname;
    let m: RegExpExecArray | null;
    if (method === 'GET' && path === '/api/v1/nodes') {
      if (url.searchParams.get('watch') === 'true') this.#watch(url, res);
      else this.#list(url, res);
      return;
    }
    if (method === 'GET' && (m = /^\/api\/v1\/nodes\/([^/]+)$/.exec(path))) {
      const node = this.#nodes.get(decodeURIComponent(m[1] as string));
      if (node) sendJson(res, 200, node);
      else sendStatus(res, 404, 'NotFound', `nodes "${m[1]}" not found`);
      return;
    }
    if (method === 'PATCH' && (m = /^\/api\/v1\/nodes\/([^/]+)\/status$/.exec(path))) {
      this.#patchStatus(decodeURIComponent(m[1] as string), contentType, body, res);
      return;
    }
    if (method === 'GET' && (m = /^\/api\/v1\/namespaces\/([^/]+)\/pods\/([^/]+)$/.exec(path))) {
      const namespace = decodeURIComponent(m[1] as string);
      const name = decodeURIComponent(m[2] as string);
      const pod = this.#pods.get(`${namespace}/${name}`);
      if (!pod) {
        sendStatus(res, 404, 'NotFound', `pods "${name}" not found`);
        return;
      }
      sendJson(res, 200, { apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace }, spec: { nodeName: pod.nodeName, containers: [] } });
      return;
    }
    sendStatus(res, 404, 'NotFound', `the server could not find the requested resource (${method} ${path})`);
  }

  #selectedName(url: URL): string | undefined | null {
    const selector = url.searchParams.get('fieldSelector');
    if (!selector) return undefined;
    const m = /^metadata\.name=(.+)$/.exec(selector);
    return m ? (m[1] as string) : null;
  }

  #list(url: URL, res: ServerResponse): void {
    const name = this.#selectedName(url);
    if (name === null) {
      sendStatus(res, 400, 'BadRequest', 'unsupported field selector');
      return;
    }
    const items = [...this.#nodes.values()].filter((n) => name === undefined || n.metadata.name === name);
    sendJson(res, 200, { apiVersion: 'v1', kind: 'NodeList', metadata: { resourceVersion: String(this.#rv) }, items });
  }

  #watch(url: URL, res: ServerResponse): void {
    const name = this.#selectedName(url);
    if (name === null) {
      sendStatus(res, 400, 'BadRequest', 'unsupported field selector');
      return;
    }
    const rvText = url.searchParams.get('resourceVersion') ?? '';
    const from = rvText === '' || rvText === '0' ? undefined : Number(rvText);
    const gone = from !== undefined && (!Number.isInteger(from) || from < this.#oldestRv);
    if (gone && this.goneAs === 'status') {
      sendStatus(res, 410, 'Expired', `too old resource version: ${rvText} (${this.#oldestRv})`);
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json', 'transfer-encoding': 'chunked' });
    res.flushHeaders();
    if (gone) {
      writeEvent(res, 'ERROR', {
        kind: 'Status',
        apiVersion: 'v1',
        status: 'Failure',
        message: `too old resource version: ${rvText} (${this.#oldestRv})`,
        reason: 'Expired',
        code: 410,
      });
      res.end();
      return;
    }
    const connection: WatchConnection = { res, nodeName: name, bookmarks: url.searchParams.get('allowWatchBookmarks') === 'true', paused: false };
    // Node's server: the request's 'close' fires once its body is read; the response's fires
    // when the client goes away.
    res.on('close', () => this.#watches.delete(connection));
    this.#watches.add(connection);
    const matches = (node: TestNode): boolean => name === undefined || node.metadata.name === name;
    if (from === undefined) {
      for (const node of this.#nodes.values()) if (matches(node)) writeEvent(res, 'ADDED', node);
    } else {
      for (const entry of this.#history) if (entry.rv > from && matches(entry.node)) writeEvent(res, entry.type, entry.node);
    }
  }

  #patchStatus(name: string, contentType: string | undefined, body: unknown, res: ServerResponse): void {
    const node = this.#nodes.get(name);
    if (!node) {
      sendStatus(res, 404, 'NotFound', `nodes "${name}" not found`);
      return;
    }
    if (contentType?.split(';')[0]?.trim() !== STRATEGIC_MERGE) {
      sendStatus(res, 415, 'UnsupportedMediaType', `the body of the request was in an unsupported format: ${contentType}`);
      return;
    }
    if (typeof body !== 'object' || body === null) {
      sendStatus(res, 400, 'BadRequest', 'patch body is not a JSON object');
      return;
    }
    const copy = applyStatusPatch(node, body as NodeStatusPatch);
    if (JSON.stringify(copy) !== JSON.stringify(node)) this.#commit('MODIFIED', copy);
    sendJson(res, 200, this.#nodes.get(name));
  }
}

function clone<T>(value: T): T {
  return structuredClone(value);
}

function writeEvent(res: ServerResponse, type: string, object: unknown): void {
  res.write(`${JSON.stringify({ type, object })}\n`);
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

function sendStatus(res: ServerResponse, code: number, reason: string, message: string): void {
  sendJson(res, code, { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, code });
}

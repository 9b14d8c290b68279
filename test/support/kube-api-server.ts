import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { applyStatusPatch, type NodeStatusPatch, type TestNode } from './kube-node-patch.js';
import { KIND_OF, KubeResourceStore, type HistoryEntry, type KindName, type StoredObject } from './kube-resource-store.js';
import { testTlsMaterial } from './kube-tls.js';

export type { TestNode } from './kube-node-patch.js';
export type { KindName, StoredObject } from './kube-resource-store.js';

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
  readonly kind: KindName;
  /** Only this object (a `metadata.name=` field selector). */
  readonly name: string | undefined;
  readonly bookmarks: boolean;
  paused: boolean;
}

interface InjectedFailure {
  readonly method: string;
  readonly path: RegExp;
  readonly status: number;
  remaining: number;
}

const STRATEGIC_MERGE = 'application/strategic-merge-patch+json';

/** List and watch URLs: nodes, namespaces, pods and networkpolicies of all namespaces. */
const COLLECTIONS: ReadonlyMap<string, KindName> = new Map([
  ['/api/v1/nodes', 'nodes'],
  ['/api/v1/namespaces', 'namespaces'],
  ['/api/v1/pods', 'pods'],
  ['/apis/networking.k8s.io/v1/networkpolicies', 'networkpolicies'],
]);

/**
 * A small HTTPS Kubernetes API server for the tests: nodes, namespaces, pods (all namespaces)
 * and networking.k8s.io/v1 networkpolicies (all namespaces), each listed in pages (`limit`,
 * `continue` over a consistent snapshot) and watched from a resourceVersion (410 Gone for an
 * expired resourceVersion or continue token); node and pod get, and the nodes/status PATCH
 * (strategic merge of metadata.annotations and of status.conditions by type). Bearer token
 * auth and a CA it generates, as a real server has. Tests steer it through the methods below
 * and read `requests` to check what the client sent.
 */
export class KubeApiServer {
  readonly requests: RecordedRequest[] = [];
  /** How an expired resourceVersion is reported on a watch: an ERROR event in a 200 stream (a
   * real server) or an HTTP 410 response. */
  goneAs: 'event' | 'status' = 'event';
  /** Serves at most this many objects a page, whatever `limit` the client asks for. */
  maxPageSize: number | undefined;

  readonly #server: Server;
  readonly #dir: string;
  readonly #store = new KubeResourceStore();
  readonly #watches = new Set<WatchConnection>();
  readonly #failures: InjectedFailure[] = [];
  /** Called before each list page is sent (tests change the cluster between pages). */
  #beforePage: ((kind: KindName, continued: boolean) => void) | undefined;

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
    if (this.#store.get('nodes', input.name)) throw new Error(`node ${input.name} exists`);
    const metadata: StoredObject['metadata'] = { name: input.name };
    if (input.annotations) metadata['annotations'] = { ...input.annotations };
    if (input.labels) metadata['labels'] = { ...input.labels };
    const spec: TestNode['spec'] = {};
    if (input.podCIDR !== undefined) spec.podCIDR = input.podCIDR;
    if (input.podCIDRs !== undefined) spec.podCIDRs = [...input.podCIDRs];
    return this.#put('nodes', { metadata, spec, status: { conditions: [] } }) as unknown as TestNode;
  }

  /** Changes a node in place (as another controller would) and emits MODIFIED. */
  updateNode(name: string, mutate: (node: TestNode) => void): TestNode {
    return this.update('nodes', name, mutate as unknown as (object: StoredObject) => void) as unknown as TestNode;
  }

  deleteNode(name: string): void {
    this.remove('nodes', name);
  }

  node(name: string): TestNode | undefined {
    return this.get('nodes', name) as unknown as TestNode | undefined;
  }

  /** A pod scheduled on `nodeName` (what node-name resolution reads; it is listed too). */
  addPod(namespace: string, name: string, nodeName: string): void {
    this.put('pods', { apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace }, spec: { nodeName, containers: [] }, status: {} });
  }

  /** Creates or replaces an object (ADDED or MODIFIED); returns it as stored. */
  put(kind: KindName, object: StoredObject): StoredObject {
    return this.#put(kind, object);
  }

  /** Changes an object (as another controller would) and emits MODIFIED. */
  update(kind: KindName, key: string, mutate: (object: StoredObject) => void): StoredObject {
    const existing = this.#store.get(kind, key);
    if (!existing) throw new Error(`no ${kind} ${key}`);
    const copy = clone(existing);
    mutate(copy);
    return this.#put(kind, copy);
  }

  /** Deletes an object (`namespace/name` for namespaced kinds) and emits DELETED. */
  remove(kind: KindName, key: string): void {
    this.#publish(this.#store.remove(kind, key));
  }

  get(kind: KindName, key: string): StoredObject | undefined {
    const object = this.#store.get(kind, key);
    return object ? clone(object) : undefined;
  }

  /** Runs `hook` before each list page is served (to change the cluster mid-list). */
  beforeEachPage(hook: ((kind: KindName, continued: boolean) => void) | undefined): void {
    this.#beforePage = hook;
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

  /**
   * Forgets the event history and open paged lists: any watch from a resourceVersion before
   * now, and any continue token, gets 410 Gone.
   */
  expireResourceVersions(): void {
    this.#store.expire();
  }

  /** Sends a BOOKMARK to watches that asked for them. */
  sendBookmarks(): void {
    for (const watch of this.#watches) {
      if (watch.bookmarks && !watch.paused) {
        writeEvent(watch.res, 'BOOKMARK', { kind: KIND_OF[watch.kind], apiVersion: 'v1', metadata: { resourceVersion: this.resourceVersion } });
      }
    }
  }

  /** Writes a line that is not JSON to every open watch (a broken proxy, a server bug). */
  sendMalformedLine(): void {
    for (const watch of this.#watches) if (!watch.paused) watch.res.write('{"type":"MODIFIED","object":\n');
  }

  /** The next `times` requests matching method and path are answered with `status`. */
  failRequests(method: string, path: RegExp, status: number, times = 1): void {
    this.#failures.push({ method, path, status, remaining: times });
  }

  /** Watch streams currently open and not paused (of one kind, or of all). */
  activeWatchesOf(kind?: KindName): number {
    let count = 0;
    for (const watch of this.#watches) if (!watch.paused && (kind === undefined || watch.kind === kind)) count++;
    return count;
  }

  /** Watch streams currently open and not paused. */
  get activeWatches(): number {
    return this.activeWatchesOf();
  }

  get resourceVersion(): string {
    return String(this.#store.resourceVersion);
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

  #put(kind: KindName, object: StoredObject): StoredObject {
    const entry = this.#store.put(kind, { apiVersion: kind === 'networkpolicies' ? 'networking.k8s.io/v1' : 'v1', kind: KIND_OF[kind], ...object });
    this.#publish(entry);
    return clone(entry.object);
  }

  #publish(entry: HistoryEntry): void {
    for (const watch of this.#watches) {
      if (!watch.paused && watch.kind === entry.kind && (watch.name === undefined || watch.name === entry.object.metadata.name)) {
        writeEvent(watch.res, entry.type, entry.object);
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
    const collection = COLLECTIONS.get(path);
    if (method === 'GET' && collection) {
      if (url.searchParams.get('watch') === 'true' || url.searchParams.get('watch') === '1') this.#watch(collection, url, res);
      else this.#list(collection, url, res);
      return;
    }
    if (method === 'GET' && (m = /^\/api\/v1\/nodes\/([^/]+)$/.exec(path))) {
      const node = this.#store.get('nodes', decodeURIComponent(m[1] as string));
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
      const pod = this.#store.get('pods', `${namespace}/${name}`);
      if (pod) sendJson(res, 200, pod);
      else sendStatus(res, 404, 'NotFound', `pods "${name}" not found`);
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

  #list(kind: KindName, url: URL, res: ServerResponse): void {
    const name = this.#selectedName(url);
    if (name === null) {
      sendStatus(res, 400, 'BadRequest', 'unsupported field selector');
      return;
    }
    const limitText = url.searchParams.get('limit');
    let limit = limitText === null || limitText === '' || limitText === '0' ? undefined : Number(limitText);
    if (limit !== undefined && (!Number.isInteger(limit) || limit < 0)) {
      sendStatus(res, 400, 'BadRequest', `invalid limit ${limitText}`);
      return;
    }
    if (this.maxPageSize !== undefined) limit = Math.min(limit ?? Infinity, this.maxPageSize);
    const token = url.searchParams.get('continue') || undefined;
    this.#beforePage?.(kind, token !== undefined);
    const page = this.#store.page(kind, (object) => name === undefined || object.metadata.name === name, limit, token);
    if (!page) {
      sendStatus(res, 410, 'Expired', 'The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter.');
      return;
    }
    const metadata: Record<string, string> = { resourceVersion: page.resourceVersion };
    if (page.continueToken !== undefined) metadata['continue'] = page.continueToken;
    sendJson(res, 200, { apiVersion: kind === 'networkpolicies' ? 'networking.k8s.io/v1' : 'v1', kind: `${KIND_OF[kind]}List`, metadata, items: page.items });
  }

  #watch(kind: KindName, url: URL, res: ServerResponse): void {
    const name = this.#selectedName(url);
    if (name === null) {
      sendStatus(res, 400, 'BadRequest', 'unsupported field selector');
      return;
    }
    const rvText = url.searchParams.get('resourceVersion') ?? '';
    const from = rvText === '' || rvText === '0' ? undefined : Number(rvText);
    const oldest = this.#store.oldestResourceVersion;
    const gone = from !== undefined && (!Number.isInteger(from) || from < oldest);
    if (gone && this.goneAs === 'status') {
      sendStatus(res, 410, 'Expired', `too old resource version: ${rvText} (${oldest})`);
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json', 'transfer-encoding': 'chunked' });
    res.flushHeaders();
    if (gone) {
      writeEvent(res, 'ERROR', {
        kind: 'Status',
        apiVersion: 'v1',
        status: 'Failure',
        message: `too old resource version: ${rvText} (${oldest})`,
        reason: 'Expired',
        code: 410,
      });
      res.end();
      return;
    }
    const connection: WatchConnection = { res, kind, name, bookmarks: url.searchParams.get('allowWatchBookmarks') === 'true', paused: false };
    // Node's server: the request's 'close' fires once its body is read; the response's fires
    // when the client goes away.
    res.on('close', () => this.#watches.delete(connection));
    this.#watches.add(connection);
    const matches = (object: StoredObject): boolean => name === undefined || object.metadata.name === name;
    if (from === undefined) {
      for (const object of this.#store.all(kind)) if (matches(object)) writeEvent(res, 'ADDED', object);
    } else {
      for (const entry of this.#store.since(kind, from)) if (matches(entry.object)) writeEvent(res, entry.type, entry.object);
    }
  }

  #patchStatus(name: string, contentType: string | undefined, body: unknown, res: ServerResponse): void {
    const node = this.#store.get('nodes', name) as unknown as TestNode | undefined;
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
    if (JSON.stringify(copy) !== JSON.stringify(node)) this.#put('nodes', copy as unknown as StoredObject);
    sendJson(res, 200, this.#store.get('nodes', name));
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

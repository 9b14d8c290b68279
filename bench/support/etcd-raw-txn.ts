/**
 * A lean etcd writer for the paced benchmark: KV.Txn over node:http2 with the request encoded by
 * hand. The leases it writes stand for other nodes of the cluster, whose clients run on other
 * machines; the etcd3 client cost the writer process 2-3 ms of CPU a transaction, on the same two
 * vCPUs as etcd and the measured daemon, and its own event-loop delays landed in the figures.
 * Encoding follows etcd's rpc.proto (TxnRequest, RequestOp, PutRequest, DeleteRangeRequest).
 * @module
 */
import { connect, type ClientHttp2Session } from 'node:http2';

/** Protobuf base-128 varint of a non-negative integer. */
function varint(value: bigint): Buffer {
  const bytes: number[] = [];
  let v = value;
  do {
    let byte = Number(v & 0x7fn);
    v >>= 7n;
    if (v > 0n) byte |= 0x80;
    bytes.push(byte);
  } while (v > 0n);
  return Buffer.from(bytes);
}

/** A length-delimited field (wire type 2). */
function field(number: number, body: Buffer): Buffer {
  return Buffer.concat([varint(BigInt((number << 3) | 2)), varint(BigInt(body.length)), body]);
}

/** TxnRequest with only `success` ops: puts under `lease`, then deletes. */
export function encodeTurnOver(puts: ReadonlyArray<readonly [key: string, value: string]>, deletes: readonly string[], lease: bigint): Buffer {
  const leaseField = Buffer.concat([varint(BigInt((3 << 3) | 0)), varint(lease)]);
  const ops = [
    ...puts.map(([key, value]) => field(2, field(2, Buffer.concat([field(1, Buffer.from(key)), field(2, Buffer.from(value)), leaseField])))),
    ...deletes.map((key) => field(2, field(3, field(1, Buffer.from(key))))),
  ];
  return Buffer.concat(ops);
}

/** One gRPC message frame: uncompressed flag, 4-byte big-endian length, the message. */
function grpcFrame(message: Buffer): Buffer {
  const head = Buffer.alloc(5);
  head.writeUInt32BE(message.length, 1);
  return Buffer.concat([head, message]);
}

export class RawTxnWriter {
  readonly #session: ClientHttp2Session;

  constructor(endpoint: string) {
    this.#session = connect(endpoint);
    this.#session.on('error', () => undefined);
  }

  /** Sends one KV.Txn; resolves when etcd answered OK, rejects with the gRPC status otherwise. */
  txn(request: Buffer): Promise<void> {
    return new Promise((resolve, reject) => {
      const stream = this.#session.request({ ':method': 'POST', ':path': '/etcdserverpb.KV/Txn', 'content-type': 'application/grpc', te: 'trailers' });
      let status: string | undefined;
      let message = '';
      const read = (headers: Record<string, unknown>): void => {
        if (headers['grpc-status'] !== undefined) status = String(headers['grpc-status']);
        if (headers['grpc-message'] !== undefined) message = String(headers['grpc-message']);
      };
      stream.on('response', read);
      stream.on('trailers', read);
      stream.on('data', () => undefined);
      stream.on('error', reject);
      stream.on('end', () => (status === '0' ? resolve() : reject(new Error(`etcd Txn failed: grpc-status ${status ?? 'missing'} ${decodeURIComponent(message)}`))));
      stream.end(grpcFrame(request));
    });
  }

  close(): void {
    this.#session.close();
  }
}

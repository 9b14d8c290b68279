import { FlannelWinError } from '../errors.js';
import type { Backend, BackendContext } from './backend.js';
import { HostGwBackend } from './host-gw/host-gw-backend.js';
import { VxlanBackend } from './vxlan/vxlan-backend.js';

export class UnsupportedBackendError extends FlannelWinError {}

/** The backends flannel ships on Windows; everything else (udp, wireguard, ipip...) is Linux-only. */
export function createBackend(type: string, ctx: BackendContext): Backend {
  switch (type.toLowerCase()) {
    case 'vxlan':
      return new VxlanBackend(ctx);
    case 'host-gw':
      return new HostGwBackend(ctx);
    default:
      throw new UnsupportedBackendError(
        'BACKEND_UNSUPPORTED',
        `backend type "${type}" is not supported on Windows; use "vxlan" (VNI 4096, Port 4789) or "host-gw" in net-conf.json`,
        { backendType: type },
      );
  }
}

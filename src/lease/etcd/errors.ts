import { FlannelWinError } from '../../errors.js';

/** etcd answered, but not with what flannel's layout needs (e.g. no config key). */
export class EtcdStoreError extends FlannelWinError {
  constructor(message: string, context: Record<string, unknown>) {
    super('ETCD_STORE', message, context);
  }
}

/**
 * Another node wrote the subnet key between our list and our create (or changed our key between
 * list and update). Retried with a fresh list; flannel turned this into an exit.
 */
export class SubnetRaceLostError extends FlannelWinError {
  constructor(key: string, operation: 'create' | 'update' | 'delete') {
    super('ETCD_SUBNET_RACE_LOST', `lost the race for ${key} (${operation}): another node changed it first`, { key, operation });
  }
}

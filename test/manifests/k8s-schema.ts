import * as k8s from '@kubernetes/client-node';
import { Namespace, ConfigMap, ServiceAccount } from 'kubernetes-models/v1';
import { DaemonSet } from 'kubernetes-models/apps/v1';
import { ClusterRole, ClusterRoleBinding } from 'kubernetes-models/rbac.authorization.k8s.io/v1';

/**
 * Manifest validation against the Kubernetes OpenAPI schemas, without a cluster:
 * - kubernetes-models' validators (generated from the OpenAPI spec): types, required fields,
 *   formats, enums;
 * - unknown fields (what `kubectl apply --validate=strict` rejects), from the OpenAPI models
 *   @kubernetes/client-node is generated from: every field must be a known property of its type.
 */
type Model = { validate(): void };
const MODELS: Record<string, new (data: never) => Model> = {
  'v1/Namespace': Namespace as never,
  'v1/ConfigMap': ConfigMap as never,
  'v1/ServiceAccount': ServiceAccount as never,
  'apps/v1/DaemonSet': DaemonSet as never,
  'rbac.authorization.k8s.io/v1/ClusterRole': ClusterRole as never,
  'rbac.authorization.k8s.io/v1/ClusterRoleBinding': ClusterRoleBinding as never,
};
/** The client's model class for each kind, to walk its attribute map. */
const ROOT_TYPES: Record<string, string> = {
  'v1/Namespace': 'V1Namespace',
  'v1/ConfigMap': 'V1ConfigMap',
  'v1/ServiceAccount': 'V1ServiceAccount',
  'apps/v1/DaemonSet': 'V1DaemonSet',
  'rbac.authorization.k8s.io/v1/ClusterRole': 'V1ClusterRole',
  'rbac.authorization.k8s.io/v1/ClusterRoleBinding': 'V1ClusterRoleBinding',
};

interface Attribute {
  baseName: string;
  type: string;
}

function attributesOf(typeName: string): Attribute[] | undefined {
  const model = (k8s as unknown as Record<string, { getAttributeTypeMap?: () => Attribute[] } | undefined>)[typeName];
  return model?.getAttributeTypeMap?.();
}

const PRIMITIVES = new Set(['string', 'number', 'boolean', 'Date', 'any', 'object', 'IntOrString']);

function unknownFields(value: unknown, typeName: string, path: string, out: string[]): void {
  if (value === null || value === undefined) return;
  const array = /^Array<(.+)>$/.exec(typeName);
  if (array) {
    if (Array.isArray(value)) value.forEach((item, i) => unknownFields(item, array[1]!, `${path}[${i}]`, out));
    return;
  }
  const map = /^\{ \[key: string\]: (.+); \}$/.exec(typeName);
  if (map) {
    if (typeof value === 'object') for (const [k, v] of Object.entries(value)) unknownFields(v, map[1]!, `${path}.${k}`, out);
    return;
  }
  if (PRIMITIVES.has(typeName)) return;
  const attributes = attributesOf(typeName);
  if (!attributes) throw new Error(`no OpenAPI model ${typeName} at ${path}`);
  if (typeof value !== 'object' || Array.isArray(value)) return; // the type validator reports it
  const known = new Map(attributes.map((a) => [a.baseName, a.type]));
  for (const [key, child] of Object.entries(value)) {
    const type = known.get(key);
    if (type === undefined) out.push(`${path}.${key}: unknown field in ${typeName}`);
    else unknownFields(child, type, `${path}.${key}`, out);
  }
}

/** Every schema violation of one parsed manifest document; empty when it is valid. */
export function schemaErrors(doc: Record<string, unknown>): string[] {
  const key = `${String(doc['apiVersion'])}/${String(doc['kind'])}`;
  const Model = MODELS[key];
  const root = ROOT_TYPES[key];
  if (!Model || !root) return [`${key}: no schema for this kind in the validation table`];
  const errors: string[] = [];
  try {
    new Model(doc as never).validate();
  } catch (err) {
    errors.push(`${key}: ${(err as Error).message}`);
  }
  unknownFields(doc, root, key, errors);
  return errors;
}

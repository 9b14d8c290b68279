/** The oldest Node.js major flannel-win runs on (package.json `engines.node`). */
export const MIN_NODE_MAJOR = 22;

/**
 * Why this Node.js cannot run flannel-win, or undefined when it can. Older majors fail later and
 * obscurely (the Kubernetes client's HTTP stack throws a bare TypeError on Node 20), so main
 * checks this before loading anything else. `version` is `process.versions.node` ("20.20.2").
 */
export function nodeVersionProblem(version: string): string | undefined {
  const major = Number.parseInt(version.replace(/^v/, '').split('.')[0] ?? '', 10);
  if (Number.isInteger(major) && major >= MIN_NODE_MAJOR) return undefined;
  const shown = Number.isInteger(major) ? `${major}.x (${version})` : JSON.stringify(version);
  return `flannel-win needs Node.js ${MIN_NODE_MAJOR} or newer, this is ${shown}`;
}

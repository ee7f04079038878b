// Reads a §3 snapshot directory into a ClusterState. A missing required file or a file of the wrong
// shape is a SnapshotError naming the file and JSON path; one malformed object is recorded and skipped.

import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { ClusterState } from '../../core/model/cluster-state';
import { ClusterStateAssembler, LIST_PARTS, type ListPart } from '../assemble-state';
import { asArray, asObject, at, ShapeError } from '../parse/json-shape';

/**
 * The snapshot files of SPEC §3, plus clusters.json (every cluster of the region, for IRSA-A01) and
 * account-summary.json (`aws iam get-account-summary`: the account's trust policy size quota, for IRSA-S14).
 */
export const SNAPSHOT_FILES = {
  cluster: { file: 'cluster.json', required: true },
  oidcProviders: { file: 'oidc-providers.json', required: true },
  roles: { file: 'roles.json', required: true },
  rolePolicies: { file: 'role-policies.json', required: false },
  serviceAccounts: { file: 'serviceaccounts.json', required: true },
  pods: { file: 'pods.json', required: true },
  mutatingWebhookConfigurations: { file: 'mutatingwebhookconfigurations.json', required: true },
  namespaces: { file: 'namespaces.json', required: false },
  podIdentityAssociations: { file: 'pod-identity-associations.json', required: false },
  accountClusters: { file: 'clusters.json', required: false },
  nodeInstances: { file: 'instances.json', required: false },
  instanceProfiles: { file: 'instance-profiles.json', required: false },
  accountSummary: { file: 'account-summary.json', required: false },
  podIdentityAgentAddon: { file: 'pod-identity-agent-addon.json', required: false },
  nodes: { file: 'nodes.json', required: false },
  daemonSets: { file: 'daemonsets.json', required: false },
} as const;

export type SnapshotPart = keyof typeof SNAPSHOT_FILES;

/** The parsed JSON of each file; optional files that were not captured are absent. */
export type SnapshotDocuments = { readonly [P in SnapshotPart]?: unknown };

/** A snapshot that cannot be audited at all: names the file and, where it applies, the JSON path. */
export class SnapshotError extends Error {
  constructor(
    readonly file: string,
    readonly problem: string,
    readonly jsonPath?: string,
  ) {
    super(`${file}: ${jsonPath === undefined ? '' : `${jsonPath}: `}${problem}`);
    this.name = 'SnapshotError';
  }
}

/** The snapshot path itself is unusable: it does not exist, or it is not a directory. */
export class SnapshotDirectoryError extends SnapshotError {
  constructor(
    readonly directory: string,
    problem: string,
  ) {
    super(directory, problem);
    this.name = 'SnapshotDirectoryError';
    this.message = `snapshot directory ${directory} ${problem}`;
  }
}

/** Reads every snapshot file of a directory and builds the state. */
export async function loadSnapshot(directory: string): Promise<ClusterState> {
  await assertDirectory(directory);
  const documents: Partial<Record<SnapshotPart, unknown>> = {};
  for (const [part, { file, required }] of Object.entries(SNAPSHOT_FILES) as [
    SnapshotPart,
    { file: string; required: boolean },
  ][]) {
    const text = await readOptional(join(directory, file), file);
    if (text === undefined) {
      if (required)
        throw new SnapshotError(file, `required file is missing from snapshot directory ${directory}`);
      continue;
    }
    try {
      documents[part] = JSON.parse(text);
    } catch (error) {
      throw new SnapshotError(
        file,
        `not valid JSON (${error instanceof Error ? error.message : String(error)})`,
      );
    }
  }
  return stateFromSnapshot(documents);
}

// Without this, a mistyped path would surface as the first required file being missing.
async function assertDirectory(directory: string): Promise<void> {
  let isDirectory: boolean;
  try {
    isDirectory = (await stat(directory)).isDirectory();
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR')
      throw new SnapshotDirectoryError(directory, 'does not exist');
    throw new SnapshotDirectoryError(
      directory,
      `cannot be read (${code ?? (error instanceof Error ? error.message : 'unknown error')})`,
    );
  }
  if (!isDirectory) throw new SnapshotDirectoryError(directory, 'is not a directory');
}

async function readOptional(path: string, file: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return undefined;
    throw new SnapshotError(
      file,
      `cannot be read (${code ?? (error instanceof Error ? error.message : 'unknown error')})`,
    );
  }
}

/** Builds the state from parsed snapshot documents; pure apart from certificate parsing. */
export function stateFromSnapshot(documents: SnapshotDocuments): ClusterState {
  const assembler = new ClusterStateAssembler((part) => SNAPSHOT_FILES[part].file);
  whole('cluster', () => assembler.setCluster(asObject(documents.cluster, '$').cluster, at('$', 'cluster')));
  if (documents.accountSummary !== undefined)
    whole('accountSummary', () => assembler.setAccountSummary(documents.accountSummary));
  if (documents.podIdentityAgentAddon !== undefined)
    whole('podIdentityAgentAddon', () => assembler.setAgentAddon(documents.podIdentityAgentAddon));
  for (const part of Object.keys(LIST_PARTS) as ListPart[]) {
    const document = documents[part];
    if (document === undefined && !SNAPSHOT_FILES[part].required) continue;
    const listPath = at('$', LIST_PARTS[part].member);
    const items = whole(part, () => asArray(asObject(document, '$')[LIST_PARTS[part].member], listPath));
    assembler.add(part, items);
  }
  return assembler.build();
}

/** Runs a parse of a whole file's shape, turning a ShapeError into a SnapshotError for that file. */
function whole<T>(part: SnapshotPart, parse: () => T): T {
  try {
    return parse();
  } catch (error) {
    if (error instanceof ShapeError)
      throw new SnapshotError(SNAPSHOT_FILES[part].file, error.problem, error.path);
    throw error;
  }
}

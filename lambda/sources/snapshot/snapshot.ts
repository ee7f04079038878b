// Reads a §3 snapshot directory into a ClusterState. A missing required file or a file of the wrong
// shape is a SnapshotError naming the file and JSON path; one malformed object is recorded and skipped.

import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { ClusterState, MalformedObject } from '../../model/cluster-state';
import {
  parseAccountCluster,
  parseCluster,
  parseOidcProvider,
  parsePodIdentityAssociation,
  parseRole,
} from '../parse/aws-objects';
import { asArray, asObject, at, ShapeError } from '../parse/json-shape';
import {
  identityOf,
  parseMutatingWebhookConfiguration,
  parseNamespace,
  parsePod,
  parseServiceAccount,
} from '../parse/kubernetes-objects';

/** The snapshot files, with the JSON member that holds each one's list. */
export const SNAPSHOT_FILES = {
  cluster: { file: 'cluster.json', required: true },
  oidcProviders: { file: 'oidc-providers.json', required: true },
  roles: { file: 'roles.json', required: true },
  serviceAccounts: { file: 'serviceaccounts.json', required: true },
  pods: { file: 'pods.json', required: true },
  mutatingWebhookConfigurations: { file: 'mutatingwebhookconfigurations.json', required: true },
  namespaces: { file: 'namespaces.json', required: false },
  podIdentityAssociations: { file: 'pod-identity-associations.json', required: false },
  accountClusters: { file: 'clusters.json', required: false },
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

/** Reads every snapshot file of a directory and builds the state. */
export async function loadSnapshot(directory: string): Promise<ClusterState> {
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
  const malformedObjects: MalformedObject[] = [];
  const cluster = whole('cluster', () =>
    parseCluster(asObject(documents.cluster, '$').cluster, at('$', 'cluster')),
  );

  const collect = <T>(
    part: SnapshotPart,
    member: string,
    kind: string,
    parse: (value: unknown, path: string) => T,
  ): T[] => {
    const { file } = SNAPSHOT_FILES[part];
    const listPath = at('$', member);
    const items = whole(part, () => asArray(asObject(documents[part], '$')[member], listPath));
    const parsed: T[] = [];
    items.forEach((item, index) => {
      try {
        parsed.push(parse(item, at(listPath, index)));
      } catch (error) {
        if (!(error instanceof ShapeError)) throw error;
        malformedObjects.push({
          source: file,
          kind,
          ...identityOf(item),
          path: error.path,
          problem: error.problem,
        });
      }
    });
    return parsed;
  };
  const optional = <T>(
    part: SnapshotPart,
    member: string,
    kind: string,
    parse: (v: unknown, p: string) => T,
  ) => (documents[part] === undefined ? undefined : collect(part, member, kind, parse));

  // Recorded while parsing, so the path indexes the file's list even after a malformed role was skipped.
  const roles = collect('roles', 'Roles', 'Role', (value, path) => {
    const role = parseRole(value, path);
    if (role.trustPolicyError !== undefined) {
      malformedObjects.push({
        source: SNAPSHOT_FILES.roles.file,
        kind: 'Role',
        name: role.arn,
        path: at(path, 'AssumeRolePolicyDocument'),
        problem: role.trustPolicyError,
      });
    }
    return role;
  });
  const namespaces = optional('namespaces', 'items', 'Namespace', parseNamespace);
  const podIdentityAssociations = optional(
    'podIdentityAssociations',
    'associations',
    'PodIdentityAssociation',
    parsePodIdentityAssociation,
  );
  const accountClusters = optional('accountClusters', 'clusters', 'Cluster', parseAccountCluster);
  const readableAccounts = new Set(roles.map((role) => role.accountId));
  if (cluster.accountId !== undefined) readableAccounts.add(cluster.accountId);

  return {
    cluster,
    oidcProviders: collect('oidcProviders', 'OpenIDConnectProviders', 'OIDCProvider', parseOidcProvider),
    roles,
    serviceAccounts: collect('serviceAccounts', 'items', 'ServiceAccount', parseServiceAccount),
    pods: collect('pods', 'items', 'Pod', parsePod),
    mutatingWebhookConfigurations: collect(
      'mutatingWebhookConfigurations',
      'items',
      'MutatingWebhookConfiguration',
      parseMutatingWebhookConfiguration,
    ),
    ...(namespaces === undefined ? {} : { namespaces }),
    ...(podIdentityAssociations === undefined ? {} : { podIdentityAssociations }),
    ...(accountClusters === undefined ? {} : { accountClusters }),
    readableAccounts: [...readableAccounts].filter((account) => account !== ''),
    collectionErrors: [],
    malformedObjects,
  };
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

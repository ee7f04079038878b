// Builds a ClusterState from raw objects as they arrive: whole snapshot files, or live list pages that
// are reduced to model records and dropped. One malformed object becomes a MalformedObject, not an error.

import type {
  AccountCluster,
  AccountQuotas,
  AgentAddon,
  ClusterInfo,
  ClusterState,
  Collection,
  CollectionError,
  DaemonSet,
  IamRole,
  InstanceProfile,
  KubeNode,
  MalformedObject,
  MutatingWebhookConfiguration,
  Namespace,
  NodeInstance,
  OidcProvider,
  Pod,
  PodIdentityAssociation,
  RolePolicy,
  ServiceAccount,
  WebhookProbe,
} from '../core/model/cluster-state';
import { PodInterner } from './intern';
import {
  parseAccountCluster,
  parseAccountSummary,
  parseAgentAddon,
  parseCluster,
  parseInstanceProfile,
  parseNodeInstance,
  parseOidcProvider,
  parsePodIdentityAssociation,
  parseRole,
  parseRolePolicy,
} from './parse/aws-objects';
import { at, ShapeError } from './parse/json-shape';
import {
  identityOf,
  parseDaemonSet,
  parseMutatingWebhookConfiguration,
  parseNamespace,
  parseNode,
  parsePod,
  parseServiceAccount,
} from './parse/kubernetes-objects';

interface ListRecords {
  readonly oidcProviders: OidcProvider;
  readonly roles: IamRole;
  readonly serviceAccounts: ServiceAccount;
  readonly pods: Pod;
  readonly mutatingWebhookConfigurations: MutatingWebhookConfiguration;
  readonly namespaces: Namespace;
  readonly podIdentityAssociations: PodIdentityAssociation;
  readonly accountClusters: AccountCluster;
  readonly nodeInstances: NodeInstance;
  readonly instanceProfiles: InstanceProfile;
  readonly rolePolicies: RolePolicy;
  readonly nodes: KubeNode;
  readonly daemonSets: DaemonSet;
}

/** The list-shaped parts of a ClusterState. */
export type ListPart = keyof ListRecords;

interface PartSpec<P extends ListPart> {
  /** The JSON member that holds the list in the snapshot file (`items` for a Kubernetes List). */
  readonly member: string;
  readonly kind: string;
  readonly parse: (value: unknown, path: string) => ListRecords[P];
}

export const LIST_PARTS: { readonly [P in ListPart]: PartSpec<P> } = {
  oidcProviders: { member: 'OpenIDConnectProviders', kind: 'OIDCProvider', parse: parseOidcProvider },
  roles: { member: 'Roles', kind: 'Role', parse: parseRole },
  serviceAccounts: { member: 'items', kind: 'ServiceAccount', parse: parseServiceAccount },
  pods: { member: 'items', kind: 'Pod', parse: parsePod },
  mutatingWebhookConfigurations: {
    member: 'items',
    kind: 'MutatingWebhookConfiguration',
    parse: parseMutatingWebhookConfiguration,
  },
  namespaces: { member: 'items', kind: 'Namespace', parse: parseNamespace },
  podIdentityAssociations: {
    member: 'associations',
    kind: 'PodIdentityAssociation',
    parse: parsePodIdentityAssociation,
  },
  accountClusters: { member: 'clusters', kind: 'Cluster', parse: parseAccountCluster },
  nodeInstances: { member: 'Instances', kind: 'Instance', parse: parseNodeInstance },
  instanceProfiles: { member: 'InstanceProfiles', kind: 'InstanceProfile', parse: parseInstanceProfile },
  rolePolicies: { member: 'RolePolicies', kind: 'RolePolicy', parse: parseRolePolicy },
  nodes: { member: 'items', kind: 'Node', parse: parseNode },
  daemonSets: { member: 'items', kind: 'DaemonSet', parse: parseDaemonSet },
};

type Lists = { -readonly [P in ListPart]?: ListRecords[P][] };

/** Accumulates one cluster's state; `source` names where each part came from (a file, or a live API). */
export class ClusterStateAssembler {
  private cluster: ClusterInfo | undefined;
  private accountQuotas: AccountQuotas | undefined;
  private agentAddon: AgentAddon | undefined;
  private webhookProbes: readonly WebhookProbe[] | undefined;
  private readonly lists: Lists = {};
  private readonly malformed: { readonly part: ListPart; readonly object: MalformedObject }[] = [];
  private readonly errors: CollectionError[] = [];
  private readonly itemsSeen: { [P in ListPart]?: number } = {};
  /** Pods of one workload share their containers, volumes and labels: memory grows with workloads, not replicas. */
  private readonly interner = new PodInterner();

  constructor(private readonly sourceOf: (part: ListPart | 'cluster') => string) {}

  /** Parses DescribeCluster's `cluster`; a cluster that cannot be read is not auditable, so this throws ShapeError. */
  setCluster(value: unknown, path = '$.cluster'): void {
    this.cluster = parseCluster(value, path);
  }

  /** Parses GetAccountSummary's output; a document of the wrong shape throws ShapeError, as a cluster's does. */
  setAccountSummary(value: unknown, path = '$'): void {
    this.accountQuotas = parseAccountSummary(value, path);
  }

  /** Parses the eks-pod-identity-agent add-on (`describe-addon` output, or `{"addon": null}`). */
  setAgentAddon(value: unknown, path = '$'): void {
    this.agentAddon = parseAgentAddon(value, path);
  }

  /** Marks a part as collected (so an empty result means "none", not "unknown"). */
  collected(part: ListPart): void {
    this.lists[part] ??= [];
  }

  /** Adds one page (or a whole file) of raw objects; indexes continue across pages, as in the written List. */
  add<P extends ListPart>(part: P, items: readonly unknown[]): void {
    const spec = LIST_PARTS[part] as PartSpec<P>;
    this.collected(part);
    const list = this.lists[part] as ListRecords[P][];
    const listPath = at('$', spec.member);
    const offset = this.itemsSeen[part] ?? 0;
    this.itemsSeen[part] = offset + items.length;
    items.forEach((item, index) => {
      const path = at(listPath, offset + index);
      try {
        const parsed = spec.parse(item, path);
        const record = part === 'pods' ? (this.interner.pod(parsed as Pod) as ListRecords[P]) : parsed;
        list.push(record);
        if (part === 'roles') this.noteUnparseableTrust(record as IamRole, path);
        if (part === 'rolePolicies') this.noteUnparseablePolicy(record as RolePolicy, path);
      } catch (error) {
        if (!(error instanceof ShapeError)) throw error;
        const object = {
          source: this.sourceOf(part),
          kind: spec.kind,
          ...identityOf(item),
          path: error.path,
          problem: error.problem,
        };
        this.malformed.push({ part, object });
      }
    });
  }

  /** Forgets what was added for a part (a list restarted after 410 Gone). */
  restart(part: ListPart): void {
    this.lists[part] = [];
    this.itemsSeen[part] = 0;
    for (let index = this.malformed.length - 1; index >= 0; index -= 1) {
      if (this.malformed[index]?.part === part) this.malformed.splice(index, 1);
    }
  }

  /** The results of the live webhook probe (only when it ran). */
  probed(probes: readonly WebhookProbe[]): void {
    this.webhookProbes = probes;
  }

  /** Records that a part could not be read; its checks will be skipped and IRSA-X01/X02 will say why. */
  failed(error: CollectionError): void {
    this.errors.push(error);
    if (error.resource !== 'cluster-connection') delete this.lists[error.resource as ListPart];
  }

  /**
   * The state. `readableAccounts` are the accounts whose roles were listed in full (live collection knows);
   * without it only the cluster's own account counts: a roles.json merged from a few `get-role` calls in
   * another account says nothing about the other roles there (they would all look deleted, IRSA-S02).
   * Roles of other accounts that are present are still found by exact ARN; absent ones become IRSA-S04.
   */
  build(readableAccounts?: readonly string[]): ClusterState {
    if (this.cluster === undefined) throw new Error('the cluster was never set');
    const { lists } = this;
    const clusterAccount = this.cluster.accountId;
    const accounts = new Set(
      readableAccounts ??
        // A cluster without an ARN gives no account: then the roles' own accounts are the best guess.
        (clusterAccount === undefined ? (lists.roles ?? []).map((role) => role.accountId) : []),
    );
    if (clusterAccount !== undefined) accounts.add(clusterAccount);
    return {
      cluster: this.cluster,
      collected: this.collection(),
      oidcProviders: lists.oidcProviders ?? [],
      roles: lists.roles ?? [],
      serviceAccounts: lists.serviceAccounts ?? [],
      pods: lists.pods ?? [],
      mutatingWebhookConfigurations: lists.mutatingWebhookConfigurations ?? [],
      ...(lists.namespaces === undefined ? {} : { namespaces: lists.namespaces }),
      ...(lists.podIdentityAssociations === undefined
        ? {}
        : { podIdentityAssociations: lists.podIdentityAssociations }),
      ...(lists.accountClusters === undefined ? {} : { accountClusters: lists.accountClusters }),
      ...(lists.nodeInstances === undefined ? {} : { nodeInstances: lists.nodeInstances }),
      ...(lists.instanceProfiles === undefined ? {} : { instanceProfiles: lists.instanceProfiles }),
      ...(lists.rolePolicies === undefined ? {} : { rolePolicies: lists.rolePolicies }),
      ...(lists.nodes === undefined ? {} : { nodes: lists.nodes }),
      ...(lists.daemonSets === undefined ? {} : { daemonSets: lists.daemonSets }),
      ...(this.accountQuotas === undefined ? {} : { accountQuotas: this.accountQuotas }),
      ...(this.agentAddon === undefined ? {} : { podIdentityAgentAddon: this.agentAddon }),
      ...(this.webhookProbes === undefined ? {} : { webhookProbes: this.webhookProbes }),
      readableAccounts: [...accounts].filter((account) => account !== ''),
      collectionErrors: [...this.errors],
      malformedObjects: this.malformed.map(({ object }) => object),
    };
  }

  // A connection failure after DescribeCluster (the ARN is known) still leaves the AWS side; before it, nothing.
  private collection(): Collection {
    if (!this.errors.some((error) => error.resource === 'cluster-connection')) return 'full';
    return this.cluster?.arn === undefined ? 'none' : 'aws-only';
  }

  // A permissions policy that cannot be parsed is kept (so the role's policies count as read), and reported once.
  private noteUnparseablePolicy(policy: RolePolicy, path: string): void {
    if (policy.documentError === undefined) return;
    const object = {
      source: this.sourceOf('rolePolicies'),
      kind: 'RolePolicy',
      name: `${policy.roleName}/${policy.policyName}`,
      path: at(path, 'PolicyDocument'),
      problem: policy.documentError,
    };
    this.malformed.push({ part: 'rolePolicies', object });
  }

  // A role whose trust policy cannot be parsed is kept (it exists: no S02), and reported once.
  private noteUnparseableTrust(role: IamRole, path: string): void {
    if (role.trustPolicyError === undefined) return;
    const object = {
      source: this.sourceOf('roles'),
      kind: 'Role',
      name: role.arn,
      path: at(path, 'AssumeRolePolicyDocument'),
      problem: role.trustPolicyError,
    };
    this.malformed.push({ part: 'roles', object });
  }
}

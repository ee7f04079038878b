// The indexes every check shares, built once per cluster so that each check is a linear pass.

import type {
  ClusterState,
  IamRole,
  MutatingWebhook,
  MutatingWebhookConfiguration,
  Namespace,
  OidcProvider,
  Pod,
  PodIdentityAssociation,
  ResourceType,
  ServiceAccount,
} from '../model/cluster-state';
import {
  accountOfArn,
  oidcProviderArn,
  parseRoleArn,
  partitionOfArn,
  type RoleArn,
  type RoleArnParse,
} from '../policy/arn';
import { normalizeIssuer } from '../policy/issuer';
import { evaluateWebIdentityTrust, type TrustDecision } from '../policy/trust-policy';
import {
  AUDIENCE_ANNOTATION,
  DEFAULT_AUDIENCE,
  DEFAULT_WEBHOOK_NAME,
  FINISHED_POD_PHASES,
  ROLE_ARN_ANNOTATION,
  serviceAccountSubject,
} from './eks-conventions';
import { NodeIndex } from './node-reach';
import { type PodInjection, podCarriesRoleArn, podInjection } from './pod-injection';

export interface AuditOptions {
  /** The time certificates are judged against. */
  readonly now: Date;
  /** The webhook entry to look for (EKS: `iam-for-pods.amazonaws.com`). */
  readonly webhookName: string;
  /** Only ServiceAccounts and pods in these namespaces are audited; all when absent or empty. */
  readonly namespaces?: readonly string[];
}

export const DEFAULT_OPTIONS: Omit<AuditOptions, 'now'> = { webhookName: DEFAULT_WEBHOOK_NAME };

/** A ServiceAccount that asks for an IAM role, with its annotation parsed. */
export interface AnnotatedServiceAccount {
  readonly serviceAccount: ServiceAccount;
  readonly annotation: string;
  readonly arn: RoleArnParse;
  readonly audience: string;
  readonly subject: string;
}

export type RoleResolution =
  | { readonly status: 'found'; readonly role: IamRole }
  | { readonly status: 'path-mismatch'; readonly role: IamRole }
  | { readonly status: 'missing' }
  | { readonly status: 'unreadable-account' };

/** The verdict of a role's trust policy for one ServiceAccount, or why there is none. */
export type TrustVerdict =
  | {
      readonly status: 'evaluated';
      readonly role: IamRole;
      readonly decision: TrustDecision;
      readonly providerArn: string;
      readonly issuer: string;
    }
  | { readonly status: 'not-evaluated'; readonly reason: string };

export interface LocatedWebhook {
  readonly configuration: MutatingWebhookConfiguration;
  readonly webhook: MutatingWebhook;
}

/** A pod the pod checks audit, with what they read about it, worked out once per audit. */
export interface AuditedPod {
  readonly pod: Pod;
  readonly injection: PodInjection;
  /** Its ServiceAccount, when that carries the IRSA role annotation. */
  readonly irsa: AnnotatedServiceAccount | undefined;
  /** The EKS Pod Identity association of its ServiceAccount, when associations were collected and one exists. */
  readonly association: PodIdentityAssociation | undefined;
}

const key = (namespace: string, name: string) => `${namespace}/${name}`;

/** Indexes over one ClusterState for the checks; every lookup is O(1) after construction. */
export class AuditContext {
  readonly issuer: string | undefined;
  /** The provider for the issuer in the cluster's own account (in any account when that one is unknown). */
  readonly provider: OidcProvider | undefined;
  readonly partition: string;
  readonly annotatedServiceAccounts: readonly AnnotatedServiceAccount[];
  /** Pods not yet finished whose ServiceAccount has an IAM identity (IRSA or Pod Identity), or which carry AWS_ROLE_ARN. */
  readonly podsInScope: readonly Pod[];
  /** The same pods, in the same order, with their webhook injection and identity. */
  readonly auditedPods: readonly AuditedPod[];
  /** The cluster's EC2 nodes, for what a pod reaches through the instance metadata service. */
  readonly nodes: NodeIndex;
  /** ServiceAccounts in scope with a Pod Identity association and no IRSA annotation. */
  readonly podIdentityServiceAccounts: readonly ServiceAccount[];
  readonly webhook: LocatedWebhook | undefined;
  private readonly serviceAccountsByKey = new Map<string, ServiceAccount>();
  private readonly annotatedByKey = new Map<string, AnnotatedServiceAccount>();
  private readonly auditedPodsByServiceAccount = new Map<string, AuditedPod[]>();
  private readonly rolesByArn = new Map<string, IamRole>();
  private readonly rolesByAccountAndName = new Map<string, IamRole>();
  private readonly associationsByServiceAccount = new Map<string, PodIdentityAssociation[]>();
  private readonly readableAccounts: ReadonlySet<string>;
  private readonly providersByAccount = new Map<string, OidcProvider>();
  private readonly usersByRoleAccount = new Map<string, AnnotatedServiceAccount[]>();
  private readonly namespaceScope: ReadonlySet<string> | undefined;
  private readonly trustCache = new Map<string, TrustVerdict>();
  private readonly namespacesByName: ReadonlyMap<string, Namespace>;
  private trustingIssuer: readonly IamRole[] | undefined;

  constructor(
    readonly state: ClusterState,
    readonly options: AuditOptions,
    /** The checks the engine skipped, by the input they lacked (see IRSA-X02). */
    private readonly skippedByResource: ReadonlyMap<ResourceType, readonly string[]> = new Map(),
  ) {
    const { cluster } = state;
    this.issuer = cluster.oidcIssuer === undefined ? undefined : normalizeIssuer(cluster.oidcIssuer);
    // STS looks the issuer up among the providers of the role's account, so keep one per account.
    for (const provider of state.oidcProviders) {
      const account = accountOfArn(provider.arn);
      if (this.issuer === undefined || account === undefined || this.providersByAccount.has(account))
        continue;
      if (normalizeIssuer(provider.url) === this.issuer) this.providersByAccount.set(account, provider);
    }
    this.provider =
      cluster.accountId === undefined
        ? this.providersByAccount.values().next().value
        : this.providersByAccount.get(cluster.accountId);
    this.partition = partitionOfArn(cluster.arn);
    this.readableAccounts = new Set(state.readableAccounts);
    this.namespaceScope =
      options.namespaces === undefined || options.namespaces.length === 0
        ? undefined
        : new Set(options.namespaces);

    for (const serviceAccount of state.serviceAccounts) {
      this.serviceAccountsByKey.set(key(serviceAccount.namespace, serviceAccount.name), serviceAccount);
    }
    const annotated: AnnotatedServiceAccount[] = [];
    for (const serviceAccount of state.serviceAccounts) {
      const annotation = serviceAccount.annotations[ROLE_ARN_ANNOTATION];
      // The webhook treats an empty annotation as none (charts often render an unset value as "").
      if (annotation === undefined || annotation === '' || !this.inScope(serviceAccount.namespace)) continue;
      const entry: AnnotatedServiceAccount = {
        serviceAccount,
        annotation,
        arn: parseRoleArn(annotation),
        audience: serviceAccount.annotations[AUDIENCE_ANNOTATION] ?? DEFAULT_AUDIENCE,
        subject: serviceAccountSubject(serviceAccount.namespace, serviceAccount.name),
      };
      annotated.push(entry);
      this.annotatedByKey.set(key(serviceAccount.namespace, serviceAccount.name), entry);
      if (entry.arn.ok) {
        const users = this.usersByRoleAccount.get(entry.arn.value.accountId);
        if (users === undefined) this.usersByRoleAccount.set(entry.arn.value.accountId, [entry]);
        else users.push(entry);
      }
    }
    this.annotatedServiceAccounts = annotated;

    // Without collected associations the list is empty, and Pod Identity is simply not audited.
    for (const association of state.podIdentityAssociations ?? []) {
      const saKey = key(association.namespace, association.serviceAccount);
      const list = this.associationsByServiceAccount.get(saKey);
      if (list === undefined) this.associationsByServiceAccount.set(saKey, [association]);
      else list.push(association);
    }
    const podIdentityServiceAccounts: ServiceAccount[] = [];
    for (const serviceAccount of state.serviceAccounts) {
      const saKey = key(serviceAccount.namespace, serviceAccount.name);
      if (!this.inScope(serviceAccount.namespace) || this.annotatedByKey.has(saKey)) continue;
      if (this.associationsByServiceAccount.has(saKey)) podIdentityServiceAccounts.push(serviceAccount);
    }
    this.podIdentityServiceAccounts = podIdentityServiceAccounts;

    const podsInScope: Pod[] = [];
    const auditedPods: AuditedPod[] = [];
    for (const pod of state.pods) {
      if (!this.inScope(pod.namespace)) continue;
      const saKey = key(pod.namespace, pod.serviceAccountName);
      // A finished pod (phase Succeeded or Failed: a completed Job or CronJob pod, an evicted pod) runs
      // nothing and holds no credentials. It stays in the API until its Job's TTL or the terminated-pod
      // GC (12,500 pods by default) removes it, and restarting its controller never clears it, so no
      // pod check audits it.
      if (pod.phase !== undefined && FINISHED_POD_PHASES.has(pod.phase)) continue;
      const irsa = this.annotatedByKey.get(saKey);
      const association = this.associationsByServiceAccount.get(saKey)?.[0];
      if (irsa === undefined && association === undefined && !podCarriesRoleArn(pod)) continue;
      const audited: AuditedPod = { pod, injection: podInjection(pod), irsa, association };
      podsInScope.push(pod);
      auditedPods.push(audited);
      const ofServiceAccount = this.auditedPodsByServiceAccount.get(saKey);
      if (ofServiceAccount === undefined) this.auditedPodsByServiceAccount.set(saKey, [audited]);
      else ofServiceAccount.push(audited);
    }
    this.podsInScope = podsInScope;
    this.auditedPods = auditedPods;
    this.nodes = new NodeIndex(state.nodeInstances, state.instanceProfiles);

    for (const role of state.roles) {
      this.rolesByArn.set(role.arn, role);
      this.rolesByAccountAndName.set(`${role.accountId}/${role.name}`, role);
    }
    this.webhook = locateWebhook(state.mutatingWebhookConfigurations, options.webhookName);
    this.namespacesByName = new Map((state.namespaces ?? []).map((namespace) => [namespace.name, namespace]));
  }

  /** Whether a namespace is audited under `--namespace`. */
  inScope(namespace: string): boolean {
    return this.namespaceScope === undefined || this.namespaceScope.has(namespace);
  }

  serviceAccount(namespace: string, name: string): ServiceAccount | undefined {
    return this.serviceAccountsByKey.get(key(namespace, name));
  }

  annotatedServiceAccount(namespace: string, name: string): AnnotatedServiceAccount | undefined {
    return this.annotatedByKey.get(key(namespace, name));
  }

  /** The audited (running) pods of a ServiceAccount. */
  auditedPodsOf(namespace: string, name: string): readonly AuditedPod[] {
    return this.auditedPodsByServiceAccount.get(key(namespace, name)) ?? [];
  }

  podIdentityAssociations(namespace: string, name: string): readonly PodIdentityAssociation[] {
    return this.associationsByServiceAccount.get(key(namespace, name)) ?? [];
  }

  /** Finds the role an ARN names: exactly, by name under another path, or not at all. */
  resolveRole(arn: RoleArn): RoleResolution {
    const exact = this.rolesByArn.get(arn.arn);
    if (exact !== undefined) return { status: 'found', role: exact };
    const byName = this.rolesByAccountAndName.get(`${arn.accountId}/${arn.name}`);
    if (byName !== undefined) return { status: 'path-mismatch', role: byName };
    return this.readableAccounts.has(arn.accountId)
      ? { status: 'missing' }
      : { status: 'unreadable-account' };
  }

  /** A role by exact ARN, or undefined. */
  role(arn: string): IamRole | undefined {
    return this.rolesByArn.get(arn);
  }

  /** Whether the audit read the roles (and OIDC providers) of an account. */
  isReadableAccount(accountId: string): boolean {
    return this.readableAccounts.has(accountId);
  }

  /** The IAM OIDC provider for this cluster's issuer in an account, where STS looks for it for that account's roles. */
  providerFor(accountId: string): OidcProvider | undefined {
    return this.providersByAccount.get(accountId);
  }

  /** The ARN the cluster's OIDC provider has (or would have) in an account. */
  providerArnFor(accountId: string): string | undefined {
    const provider = this.providerFor(accountId);
    if (provider !== undefined) return provider.arn;
    return this.issuer === undefined ? undefined : oidcProviderArn(this.partition, accountId, this.issuer);
  }

  /** The annotated SAs (with a valid role ARN) grouped by the account of their role, in SA order. */
  serviceAccountsByRoleAccount(): ReadonlyMap<string, readonly AnnotatedServiceAccount[]> {
    return this.usersByRoleAccount;
  }

  /**
   * The roles whose trust policy names this cluster's issuer: an Allow statement federates its provider (of any
   * account) or conditions on one of its claims. Without the ServiceAccounts (the API server could not be read)
   * these are the roles the cluster's pods would assume.
   */
  rolesTrustingIssuer(): readonly IamRole[] {
    this.trustingIssuer ??= this.state.roles.filter((role) => this.trustsIssuer(role));
    return this.trustingIssuer;
  }

  private trustsIssuer(role: IamRole): boolean {
    const { issuer } = this;
    if (issuer === undefined || role.trustPolicy === undefined) return false;
    const provider = `:oidc-provider/${issuer}`.toLowerCase();
    const claim = `${issuer}:`.toLowerCase();
    return role.trustPolicy.statements.some(
      (statement) =>
        statement.effect === 'Allow' &&
        ((statement.principal?.byType.Federated ?? []).some((arn) => arn.toLowerCase().endsWith(provider)) ||
          statement.conditions.some((condition) => condition.key.toLowerCase().startsWith(claim))),
    );
  }

  /** The checks skipped because a resource type could not be read. */
  skippedChecks(resource: ResourceType): readonly string[] {
    return this.skippedByResource.get(resource) ?? [];
  }

  /** Evaluates the annotated role's trust policy for the SA's subject and audience (memoised). */
  trustOf(entry: AnnotatedServiceAccount, audience = entry.audience): TrustVerdict {
    if (!entry.arn.ok) return { status: 'not-evaluated', reason: 'the annotation is not a role ARN' };
    const resolution = this.resolveRole(entry.arn.value);
    if (resolution.status === 'missing' || resolution.status === 'unreadable-account') {
      return { status: 'not-evaluated', reason: `the role is ${resolution.status}` };
    }
    return this.trustOfRole(resolution.role, entry.subject, audience);
  }

  /** Evaluates a role's trust policy for a subject and audience presented by this cluster's issuer. */
  trustOfRole(role: IamRole, subject: string, audience: string): TrustVerdict {
    const cacheKey = `${role.arn}\n${subject}\n${audience}`;
    const cached = this.trustCache.get(cacheKey);
    if (cached !== undefined) return cached;
    const verdict = this.evaluateTrust(role, subject, audience);
    this.trustCache.set(cacheKey, verdict);
    return verdict;
  }

  private evaluateTrust(role: IamRole, subject: string, audience: string): TrustVerdict {
    if (role.trustPolicy === undefined) {
      return { status: 'not-evaluated', reason: role.trustPolicyError ?? 'the role has no trust policy' };
    }
    const providerArn = this.providerArnFor(role.accountId);
    if (this.issuer === undefined || providerArn === undefined) {
      return { status: 'not-evaluated', reason: 'the cluster has no OIDC issuer' };
    }
    const decision = evaluateWebIdentityTrust(role.trustPolicy, {
      providerArn,
      issuer: this.issuer,
      subject,
      audience,
    });
    return { status: 'evaluated', role, decision, providerArn, issuer: this.issuer };
  }

  /** Labels of a namespace, and whether they are known (without namespaces.json only the automatic one is). */
  namespaceLabels(namespace: string): {
    readonly labels: Readonly<Record<string, string>>;
    readonly known: boolean;
  } {
    const found = this.namespacesByName.get(namespace);
    if (found !== undefined) {
      return { labels: { 'kubernetes.io/metadata.name': namespace, ...found.labels }, known: true };
    }
    return { labels: { 'kubernetes.io/metadata.name': namespace }, known: false };
  }
}

function locateWebhook(
  configurations: readonly MutatingWebhookConfiguration[],
  webhookName: string,
): LocatedWebhook | undefined {
  for (const configuration of configurations) {
    const webhook = configuration.webhooks.find((candidate) => candidate.name === webhookName);
    if (webhook !== undefined) return { configuration, webhook };
  }
  return undefined;
}

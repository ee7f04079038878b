// The explicit, sorted list of checks. IDs are stable: never renumber or reuse one.

import { a01StaleOidcProvider } from './a01-stale-oidc-provider';
import { a02OidcProviderQuota } from './a02-oidc-provider-quota';
import { c01ClusterOidcIssuer } from './c01-cluster-oidc-issuer';
import { c02OidcProvider } from './c02-oidc-provider';
import { c03ProviderAudience } from './c03-provider-audience';
import { c04PodIdentityAssociationQuota } from './c04-pod-identity-association-quota';
import { c05PodIdentityAgentAddon } from './c05-pod-identity-agent-addon';
import type { Check } from './check';
import { p01PodNotMutated } from './p01-pod-not-mutated';
import { p02PodRoleStale } from './p02-pod-role-stale';
import { p03PodRoleOrphaned } from './p03-pod-role-orphaned';
import { p04StaticCredentials } from './p04-static-credentials';
import { p05PartialMutation } from './p05-partial-mutation';
import { p06TokenAudience } from './p06-token-audience';
import { p07PodIdentityAssociationChanged } from './p07-pod-identity-association-changed';
import { p08PodIdentityAgentReach } from './p08-pod-identity-agent-reach';
import { p09NodeRoleReachable } from './p09-node-role-reachable';
import { s01RoleArnAnnotation } from './s01-role-arn-annotation';
import { s02RoleExists } from './s02-role-exists';
import { s03RolePath } from './s03-role-path';
import { s04RoleOtherAccount } from './s04-role-other-account';
import { s05TrustProvider } from './s05-trust-provider';
import { s06TrustAction } from './s06-trust-action';
import { s07TrustSubject } from './s07-trust-subject';
import { s08TrustAudience } from './s08-trust-audience';
import { s09TrustDeny } from './s09-trust-deny';
import { s10TrustAnyServiceAccount } from './s10-trust-any-service-account';
import { s11TokenAnnotations } from './s11-token-annotations';
import { s12IrsaAndPodIdentity } from './s12-irsa-and-pod-identity';
import { s13PodIdentityRole } from './s13-pod-identity-role';
import { s14TrustPolicySize } from './s14-trust-policy-size';
import { s15PodIdentityTrustAnyAssociation } from './s15-pod-identity-trust-any-association';
import { w01WebhookPresent } from './w01-webhook-present';
import { w02WebhookCaBundle } from './w02-webhook-ca-bundle';
import { w03WebhookCertificateValidity } from './w03-webhook-certificate-validity';
import { w04WebhookRules } from './w04-webhook-rules';
import { w05WebhookSelectors } from './w05-webhook-selectors';
import { w06WebhookFailurePolicy } from './w06-webhook-failure-policy';
import { w07WebhookProbe } from './w07-webhook-probe';
import { x01ClusterUnreachable } from './x01-cluster-unreachable';
import { x02ResourceUnreadable } from './x02-resource-unreadable';
import { x03CheckFailed } from './x03-check-failed';
import { x04MalformedObject } from './x04-malformed-object';

/** A programming error in the check registry: a malformed or duplicate ID, or a lookup of an unregistered one. */
export class RegistryError extends Error {
  constructor(
    readonly checkId: string,
    problem: string,
  ) {
    super(`check ID ${checkId} ${problem}`);
    this.name = 'RegistryError';
  }
}

// Catalogue order (SPEC §4): cluster, webhook, ServiceAccount/role, pod, account, audit health.
const GROUP_ORDER = ['C', 'W', 'S', 'P', 'A', 'X'];

/** Builds the registry: refuses duplicate or malformed IDs and sorts in catalogue order. */
export function buildRegistry(checks: readonly Check[]): readonly Check[] {
  const ids = new Set<string>();
  for (const check of checks) {
    if (!/^IRSA-[A-Z]\d{2}$/.test(check.id)) throw new RegistryError(check.id, 'is not of the form IRSA-X00');
    if (ids.has(check.id)) throw new RegistryError(check.id, 'is registered twice');
    ids.add(check.id);
  }
  const rank = (check: Check) => GROUP_ORDER.indexOf(check.id.charAt(5)) * 100 + Number(check.id.slice(6));
  return [...checks].sort((a, b) => rank(a) - rank(b));
}

export const CHECKS: readonly Check[] = buildRegistry([
  c01ClusterOidcIssuer,
  c02OidcProvider,
  c03ProviderAudience,
  c04PodIdentityAssociationQuota,
  c05PodIdentityAgentAddon,
  w01WebhookPresent,
  w02WebhookCaBundle,
  w03WebhookCertificateValidity,
  w04WebhookRules,
  w05WebhookSelectors,
  w06WebhookFailurePolicy,
  w07WebhookProbe,
  s01RoleArnAnnotation,
  s02RoleExists,
  s03RolePath,
  s04RoleOtherAccount,
  s05TrustProvider,
  s06TrustAction,
  s07TrustSubject,
  s08TrustAudience,
  s09TrustDeny,
  s10TrustAnyServiceAccount,
  s11TokenAnnotations,
  s12IrsaAndPodIdentity,
  s13PodIdentityRole,
  s14TrustPolicySize,
  s15PodIdentityTrustAnyAssociation,
  p01PodNotMutated,
  p02PodRoleStale,
  p03PodRoleOrphaned,
  p04StaticCredentials,
  p05PartialMutation,
  p06TokenAudience,
  p07PodIdentityAssociationChanged,
  p08PodIdentityAgentReach,
  p09NodeRoleReachable,
  a01StaleOidcProvider,
  a02OidcProviderQuota,
  x01ClusterUnreachable,
  x02ResourceUnreadable,
  x03CheckFailed,
  x04MalformedObject,
]);

/** A registered check by ID; throws for an unknown ID (a programming error, not an input error). */
export function checkById(id: string): Check {
  const check = CHECKS.find((candidate) => candidate.id === id);
  if (check === undefined) throw new RegistryError(id, 'is not registered');
  return check;
}

import type { AnnotatedServiceAccount, AuditContext } from '../analysis/context';
import { DEFAULT_AUDIENCE, serviceAccountSubject } from '../analysis/eks-conventions';
import { statementLabel } from '../analysis/trust-diagnosis';
import type { IamRole } from '../model/cluster-state';
import type { Check, FindingDraft } from './check';

// A namespace no cluster has: whoever may create namespaces can create it, and any SA in it.
const MADE_UP_NAMESPACE = 'irsa-auditor-any-namespace';
// A subject no real ServiceAccount has: if the policy admits it, it admits any.
const STRANGER = serviceAccountSubject(MADE_UP_NAMESPACE, 'irsa-auditor-any-serviceaccount');

interface RoleUse {
  readonly role: IamRole;
  /** The annotated SAs that name the role. */
  readonly users: AnnotatedServiceAccount[];
}

const labelOf = (entry: AnnotatedServiceAccount) =>
  `${entry.serviceAccount.namespace}/${entry.serviceAccount.name}`;

/** The roles to probe: every role of a readable account, and every role an annotated SA uses, with its users. */
function rolesToProbe(context: AuditContext): readonly RoleUse[] {
  const uses = new Map<string, RoleUse>();
  const useOf = (role: IamRole) => {
    const known = uses.get(role.arn);
    if (known !== undefined) return known;
    const use: RoleUse = { role, users: [] };
    uses.set(role.arn, use);
    return use;
  };
  for (const entry of context.annotatedServiceAccounts) {
    const verdict = context.trustOf(entry);
    if (verdict.status !== 'evaluated') continue;
    useOf(verdict.role).users.push(entry);
  }
  // A role no SA of this cluster names yet is as open to a new SA as one in use.
  for (const role of context.state.roles) {
    if (context.isReadableAccount(role.accountId)) useOf(role);
  }
  return [...uses.values()];
}

/** A trust policy without a precise `:sub` lets every pod of the cluster take the role. */
export const s10TrustAnyServiceAccount: Check = {
  id: 'IRSA-S10',
  title: 'The trust policy admits only named ServiceAccounts, not any in the cluster.',
  severity: 'high',
  remediation: 'Add a StringEquals :sub condition naming each ServiceAccount that may use the role.',
  needs: ['cluster', 'serviceAccounts', 'roles'],
  run: probeRoles,
  // Every role of the account is probed with a made-up ServiceAccount anyway: that needs no Kubernetes.
  withoutKubernetes: { needs: ['cluster', 'roles'], run: probeRoles },
};

function* probeRoles(context: AuditContext): Iterable<FindingDraft> {
  for (const use of rolesToProbe(context)) {
    const anyServiceAccount = probeAnyServiceAccount(context, use);
    if (anyServiceAccount !== undefined) {
      yield anyServiceAccount;
      continue;
    }
    yield* probeAnyNamespace(context, use);
  }
}

/** Whether a made-up SA in a made-up namespace gets in: then every pod of the cluster can. */
function probeAnyServiceAccount(context: AuditContext, use: RoleUse): FindingDraft | undefined {
  const { role } = use;
  const serviceAccounts = use.users.map(labelOf);
  const audiences =
    use.users.length === 0 ? [DEFAULT_AUDIENCE] : [...new Set(use.users.map((e) => e.audience))];
  for (const audience of audiences) {
    const verdict = context.trustOfRole(role, STRANGER, audience);
    if (verdict.status !== 'evaluated' || !verdict.decision.allowed) continue;
    const statement = verdict.decision.decidingStatement;
    const label = statement === undefined ? 'a statement' : statementLabel(statement);
    const subjects =
      use.users.length === 0
        ? '"system:serviceaccount:<namespace>:<name>"'
        : use.users.map((entry) => `"${entry.subject}"`).join(', ');
    return {
      resource: { kind: 'Role', name: role.arn },
      key: role.arn,
      message: `${label} of role ${role.name}'s trust policy admits any ServiceAccount of the cluster (it let a made-up ${STRANGER} in), so every pod can take this role.`,
      evidence: {
        roleArn: role.arn,
        statement: label,
        probeSubject: STRANGER,
        usedBy: serviceAccounts.slice(0, 20),
        explanation: verdict.decision.explanation,
      },
      remediation: `In ${label} of ${role.name}, use "StringEquals": {"${verdict.issuer}:sub": [${subjects}]} instead of a missing or wildcard :sub condition.`,
    };
  }
  return undefined;
}

/** Whether an SA of the same name in a made-up namespace gets in (`system:serviceaccount:*:<name>`). */
function* probeAnyNamespace(context: AuditContext, use: RoleUse): Iterable<FindingDraft> {
  const { role } = use;
  // Once the made-up SA is refused, only a glob can still leave the namespace open (`*` or `?` under a
  // Like operator); without one anywhere in the policy there is nothing to probe.
  const globs = role.trustPolicy?.statements.some((statement) =>
    statement.conditions.some((condition) => condition.values.some((value) => /[*?]/.test(value))),
  );
  if (globs !== true) return;
  const probed = new Set<string>();
  for (const entry of use.users) {
    const { name } = entry.serviceAccount;
    if (probed.has(name)) continue;
    probed.add(name);
    const probe = serviceAccountSubject(MADE_UP_NAMESPACE, name);
    const verdict = context.trustOfRole(role, probe, entry.audience);
    if (verdict.status !== 'evaluated' || !verdict.decision.allowed) continue;
    const statement = verdict.decision.decidingStatement;
    const label = statement === undefined ? 'a statement' : statementLabel(statement);
    const users = use.users.filter((user) => user.serviceAccount.name === name);
    const subjects = users.map((user) => `"${user.subject}"`).join(', ');
    yield {
      resource: { kind: 'Role', name: role.arn },
      key: `${role.arn}#any-namespace:${name}`,
      message: `${label} of role ${role.name}'s trust policy admits a ServiceAccount named ${name} in any namespace (it let a made-up ${probe} in), so anyone who can create a namespace can create ${name} there and take this role.`,
      evidence: {
        roleArn: role.arn,
        statement: label,
        probeSubject: probe,
        usedBy: users.slice(0, 20).map(labelOf),
        explanation: verdict.decision.explanation,
      },
      remediation: `In ${label} of ${role.name}, name the namespace: use "StringEquals": {"${verdict.issuer}:sub": [${subjects}]} instead of a pattern that leaves the namespace open.`,
    };
  }
}

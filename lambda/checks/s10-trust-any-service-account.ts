import type { IamRole } from '../model/cluster-state';
import type { Check } from './check';
import { serviceAccountSubject } from './eks-conventions';
import { statementLabel } from './trust-diagnosis';

// A subject no real ServiceAccount has: if the policy admits it, it admits any.
const STRANGER = serviceAccountSubject('irsa-auditor-any-namespace', 'irsa-auditor-any-serviceaccount');

/** A trust policy without a precise `:sub` lets every pod of the cluster take the role. */
export const s10TrustAnyServiceAccount: Check = {
  id: 'IRSA-S10',
  title: 'The trust policy admits only named ServiceAccounts, not any in the cluster.',
  severity: 'high',
  remediation: 'Add a StringEquals :sub condition naming each ServiceAccount that may use the role.',
  needs: ['cluster', 'serviceAccounts', 'roles'],
  *run(context) {
    const users = new Map<string, { role: IamRole; audience: string; serviceAccounts: string[] }>();
    for (const entry of context.annotatedServiceAccounts) {
      const verdict = context.trustOf(entry);
      if (verdict.status !== 'evaluated') continue;
      const known = users.get(verdict.role.arn);
      const label = `${entry.serviceAccount.namespace}/${entry.serviceAccount.name}`;
      if (known === undefined)
        users.set(verdict.role.arn, {
          role: verdict.role,
          audience: entry.audience,
          serviceAccounts: [label],
        });
      else known.serviceAccounts.push(label);
    }
    for (const { role, audience, serviceAccounts } of users.values()) {
      const verdict = context.trustOfRole(role, STRANGER, audience);
      if (verdict.status !== 'evaluated' || !verdict.decision.allowed) continue;
      const statement = verdict.decision.decidingStatement;
      const label = statement === undefined ? 'a statement' : statementLabel(statement);
      const subjects = serviceAccounts
        .map((sa) => `"system:serviceaccount:${sa.replace('/', ':')}"`)
        .join(', ');
      yield {
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
  },
};

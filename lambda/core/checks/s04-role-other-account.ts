import type { AnnotatedServiceAccount, AuditContext } from '../analysis/context';
import { associationResource } from '../analysis/pod-identity';
import { webIdentityStatement } from '../analysis/remediation';
import { diagnoseTrust, serviceAccountResource } from '../analysis/trust-diagnosis';
import type { PodIdentityAssociation } from '../model/cluster-state';
import { accountOfArn, type RoleArn } from '../policy/arn';
import type { Check, FindingDraft } from './check';

/**
 * A trust chain the audit cannot verify is reported as such rather than guessed: the role is in an account
 * the auditor cannot read, or its trust policy hangs on conditions the auditor cannot evaluate.
 */
export const s04RoleOtherAccount: Check = {
  id: 'IRSA-S04',
  title:
    "Each role's trust can be verified: its account is readable and its trust conditions can be evaluated.",
  severity: 'info',
  remediation: 'Audit the role from its own account, or grant the auditor read access to it.',
  needs: ['serviceAccounts', 'roles'],
  *run(context) {
    for (const entry of context.annotatedServiceAccounts) {
      if (!entry.arn.ok) continue;
      const arn = entry.arn.value;
      if (context.resolveRole(arn).status === 'unreadable-account') {
        yield unreadableAccount(context, entry, arn);
        continue;
      }
      const unverified = unverifiedTrust(context, entry);
      if (unverified !== undefined) yield unverified;
    }
    // The target role of a Pod Identity association (role chaining) may sit in an account the audit cannot read.
    for (const association of context.state.podIdentityAssociations ?? []) {
      const target = association.targetRoleArn;
      const account = target === undefined ? undefined : accountOfArn(target);
      if (target === undefined || account === undefined || !context.inScope(association.namespace)) continue;
      if (context.isReadableAccount(account) || context.role(target) !== undefined) continue;
      yield unreadableTarget(association, target, account);
    }
  },
};

function unreadableTarget(
  association: PodIdentityAssociation,
  target: string,
  account: string,
): FindingDraft {
  const serviceAccount = `${association.namespace}/${association.serviceAccount}`;
  return {
    resource: associationResource(association),
    key: target,
    message: `Pod Identity association ${association.associationId} (${serviceAccount}) chains from role ${association.roleArn} to target role ${target} in account ${account}, which this audit cannot read, so the second hop's trust is unverified.`,
    evidence: { roleArn: association.roleArn, targetRoleArn: target, targetAccount: account },
    remediation: `In account ${account}, check that the trust policy of ${target} allows sts:AssumeRole and sts:TagSession for ${association.roleArn}${association.externalId === undefined ? '' : ` with "StringEquals": {"sts:ExternalId": "${association.externalId}"}`}, and that ${association.roleArn} has an identity policy allowing those actions on it; or run irsa-auditor with read access to that account.`,
  };
}

function unreadableAccount(
  context: AuditContext,
  entry: AnnotatedServiceAccount,
  arn: RoleArn,
): FindingDraft {
  const { namespace, name } = entry.serviceAccount;
  const providerArn = context.providerArnFor(arn.accountId) ?? '(no issuer)';
  const statement =
    context.issuer === undefined
      ? `a statement federating that provider for ${entry.subject}`
      : `this statement: ${webIdentityStatement(providerArn, context.issuer, entry.subject, entry.audience)}`;
  return {
    resource: serviceAccountResource(entry),
    key: arn.arn,
    message: `ServiceAccount ${namespace}/${name} uses role ${arn.arn} in account ${arn.accountId}, which this audit cannot read, so its trust policy and OIDC provider are unverified.`,
    evidence: {
      roleArn: arn.arn,
      roleAccount: arn.accountId,
      readableAccounts: [...context.state.readableAccounts],
      providerArnNeeded: providerArn,
    },
    remediation: `In account ${arn.accountId}, check that the OIDC provider ${providerArn} exists and that the trust policy of role ${arn.name} holds ${statement}; or run irsa-auditor with read access to that account.`,
  };
}

// No :sub or :aud condition refuses the SA, but the outcome hangs on an operator the auditor does not know or a
// key only STS fills (aws:CurrentTime, aws:SourceIp, ...): say so instead of blaming a condition that holds.
function unverifiedTrust(context: AuditContext, entry: AnnotatedServiceAccount): FindingDraft | undefined {
  const diagnosis = diagnoseTrust(context, entry);
  if (diagnosis === undefined || !diagnosis.problems.has('unverified')) return undefined;
  const { role } = diagnosis.verdict;
  const { namespace, name } = entry.serviceAccount;
  const conditionsOf = (effect: 'Allow' | 'Deny') => [
    ...new Set(diagnosis.undecided.filter((u) => u.effect === effect).map((u) => u.condition)),
  ];
  const [allowConditions, denyConditions] = [conditionsOf('Allow'), conditionsOf('Deny')];
  const conditions = [...allowConditions, ...denyConditions];
  const outcome = [
    allowConditions.length === 0
      ? 'an Allow statement admits it'
      : `no condition refuses it, but the statement that would allow it depends on ${allowConditions.join(', ')}`,
    ...(denyConditions.length === 0
      ? []
      : [`a Deny statement that may block it depends on ${denyConditions.join(', ')}`]),
  ].join(allowConditions.length === 0 ? ', but ' : ', and ');
  return {
    resource: serviceAccountResource(entry),
    key: role.arn,
    message: `Whether ServiceAccount ${namespace}/${name} can assume role ${role.name} could not be verified: ${outcome}, which the auditor cannot evaluate.`,
    evidence: {
      roleArn: role.arn,
      subject: entry.subject,
      undecidedConditions: diagnosis.undecided.map(
        (undecided) => `${undecided.statement}: ${undecided.condition}: ${undecided.reason}`,
      ),
      unknownOperators: [...diagnosis.verdict.decision.unknownOperators],
      explanation: diagnosis.verdict.decision.explanation,
    },
    remediation: `Verify it with a real token: \`aws sts assume-role-with-web-identity --role-arn ${role.arn} --role-session-name irsa-audit --web-identity-token "$(kubectl create token -n ${namespace} ${name} --audience ${entry.audience})"\`; if STS refuses, check ${conditions.join(', ')} in the trust policy of ${role.name}.`,
  };
}

import { annotateCommand, webIdentityStatement } from '../analysis/remediation';
import { serviceAccountResource } from '../analysis/trust-diagnosis';
import type { Check } from './check';

/** A ServiceAccount annotated with a role that does not exist gets AccessDenied from STS. */
export const s02RoleExists: Check = {
  id: 'IRSA-S02',
  title: 'The annotated IAM role exists.',
  severity: 'high',
  remediation: 'Create the role, or point the annotation at an existing role.',
  needs: ['serviceAccounts', 'roles'],
  *run(context) {
    for (const entry of context.annotatedServiceAccounts) {
      if (!entry.arn.ok) continue;
      const arn = entry.arn.value;
      if (context.resolveRole(arn).status !== 'missing') continue;
      const { namespace, name } = entry.serviceAccount;
      const providerArn = context.providerArnFor(arn.accountId);
      const create =
        providerArn === undefined || context.issuer === undefined
          ? ''
          : ` Otherwise create role ${arn.name} (path ${arn.path}) in account ${arn.accountId} with this trust-policy statement: ${webIdentityStatement(providerArn, context.issuer, entry.subject, entry.audience)}.`;
      yield {
        resource: serviceAccountResource(entry),
        key: arn.arn,
        message: `ServiceAccount ${namespace}/${name} asks for role ${arn.arn}, which does not exist in account ${arn.accountId}.`,
        evidence: {
          roleArn: arn.arn,
          accountId: arn.accountId,
          rolesInAccount: context.state.roles.filter((role) => role.accountId === arn.accountId).length,
        },
        remediation: `Fix the annotation if the role was renamed (\`${annotateCommand(namespace, name, '<role-arn>')}\`).${create}`,
      };
    }
  },
};

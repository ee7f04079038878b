import type { Check } from './check';
import { STATIC_KEY_ENV } from './eks-conventions';

// envFrom hides its keys; a Secret or ConfigMap whose name says AWS credentials is worth a look.
const CREDENTIAL_SOURCE_NAME = /aws|credential|access[-_]?key/i;

/** The SDK credential chain reads static keys from the environment before web identity. */
export const p04StaticCredentials: Check = {
  id: 'IRSA-P04',
  title: 'No container of an IRSA pod sets static AWS access keys.',
  severity: 'high',
  remediation: 'Remove AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY from the pod spec and rely on IRSA.',
  needs: ['pods'],
  *run(context) {
    for (const pod of context.podsInScope) {
      for (const container of pod.containers) {
        const direct = container.env
          .filter((variable) => (STATIC_KEY_ENV as readonly string[]).includes(variable.name))
          .map(
            (variable) =>
              `${variable.name}${variable.valueFrom === undefined ? '' : ` (from ${variable.valueFrom})`}`,
          );
        const suspicious = container.envFrom
          .filter((source) => source.prefix === undefined || source.prefix === '' || source.prefix === 'AWS_')
          .filter((source) => CREDENTIAL_SOURCE_NAME.test(source.name))
          .map((source) => `envFrom ${source.kind} ${source.name}`);
        if (direct.length === 0 && suspicious.length === 0) continue;
        const what =
          direct.length > 0
            ? `sets ${direct.join(', ')}`
            : `may set static keys through ${suspicious.join(', ')}`;
        yield {
          resource: { kind: 'Pod', namespace: pod.namespace, name: pod.name },
          key: container.name,
          ...(direct.length === 0 ? { severity: 'medium' as const } : {}),
          message: `Container ${container.name} of pod ${pod.namespace}/${pod.name} ${what}; the AWS SDK prefers those over the IRSA web identity token.`,
          evidence: { container: container.name, env: direct, envFrom: suspicious },
          remediation: `Remove the static keys from container ${container.name} in the pod's controller spec (and delete the Secret if unused), so the SDK falls through to AWS_WEB_IDENTITY_TOKEN_FILE.`,
        };
      }
    }
  },
};

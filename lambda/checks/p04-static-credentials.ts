import type { EnvFromSource } from '../model/cluster-state';
import type { Check } from './check';
import { STATIC_KEY_ENV } from './eks-conventions';

// envFrom hides its keys. A Secret named after AWS or credentials is worth a look; a ConfigMap named
// after AWS usually holds AWS_REGION and friends, so only a credentials-like name makes it suspect.
const CREDENTIAL_NAME = /credential|access[-_]?key|secret[-_]?key/i;
const AWS_NAME = /aws/i;

function mayHoldStaticKeys(source: EnvFromSource): boolean {
  // Any other prefix renames the keys (LEGACY_AWS_ACCESS_KEY_ID), which no SDK reads.
  if (source.prefix !== undefined && source.prefix !== '' && source.prefix !== 'AWS_') return false;
  if (CREDENTIAL_NAME.test(source.name)) return true;
  return source.kind === 'Secret' && AWS_NAME.test(source.name);
}

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
        const staticKeys = container.env.filter((variable) =>
          (STATIC_KEY_ENV as readonly string[]).includes(variable.name),
        );
        const direct = staticKeys.map(
          (variable) =>
            `${variable.name}${variable.valueFrom === undefined ? '' : ` (from ${variable.valueFrom})`}`,
        );
        const suspicious = container.envFrom
          .filter(mayHoldStaticKeys)
          .map((source) => `envFrom ${source.kind} ${source.name}`);
        if (direct.length === 0 && suspicious.length === 0) continue;
        const what =
          direct.length > 0
            ? `sets ${direct.join(', ')}`
            : `may set static keys through ${suspicious.join(', ')}`;
        const literal = staticKeys.some((variable) => variable.value !== undefined);
        const fromSecret =
          staticKeys.some((variable) => variable.valueFrom === 'secretKeyRef') ||
          container.envFrom.some((source) => source.kind === 'Secret' && mayHoldStaticKeys(source));
        const which = `${container.kind === 'initContainer' ? 'init container' : 'container'} ${container.name}`;
        yield {
          resource: { kind: 'Pod', namespace: pod.namespace, name: pod.name },
          key: container.name,
          ...(direct.length === 0 ? { severity: 'medium' as const } : {}),
          message: `In pod ${pod.namespace}/${pod.name}, ${which} ${what}; the AWS SDK prefers those over the IRSA web identity token.`,
          evidence: { container: container.name, env: direct, envFrom: suspicious },
          remediation: `Remove the static keys from ${which} in the pod's controller spec${fromSecret ? ' (and delete the Secret if nothing else uses it)' : ''}, so the SDK falls through to AWS_WEB_IDENTITY_TOKEN_FILE${literal ? '; literal keys are readable by anyone who can get pods, so deactivate and rotate them' : ''}.`,
        };
      }
    }
  },
};

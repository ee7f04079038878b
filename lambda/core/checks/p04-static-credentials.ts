import { ENV_TOKEN_FILE, STATIC_KEY_ENV } from '../analysis/eks-conventions';
import type { Container, EnvFromSource } from '../model/cluster-state';
import type { Check } from './check';

// envFrom hides its keys. A Secret named after AWS or credentials is worth a look; a ConfigMap named
// after AWS usually holds AWS_REGION and friends, so only a credentials-like name makes it suspect.
const CREDENTIAL_NAME = /credential|access[-_]?key|secret[-_]?key/i;
const AWS_NAME = /aws/i;
const STATIC_KEYS: ReadonlySet<string> = new Set(STATIC_KEY_ENV);

function mayHoldStaticKeys(source: EnvFromSource): boolean {
  // Any other prefix renames the keys (LEGACY_AWS_ACCESS_KEY_ID), which no SDK reads.
  if (source.prefix !== undefined && source.prefix !== '' && source.prefix !== 'AWS_') return false;
  if (CREDENTIAL_NAME.test(source.name)) return true;
  return source.kind === 'Secret' && AWS_NAME.test(source.name);
}

/** Whether a container might set static keys at all: the common answer, no, without allocating. */
function mightSetStaticKeys(container: Container): boolean {
  for (const variable of container.env) if (STATIC_KEYS.has(variable.name)) return true;
  for (const source of container.envFrom) if (mayHoldStaticKeys(source)) return true;
  return false;
}

/** The SDK credential chain reads static keys from the environment before web identity. */
export const p04StaticCredentials: Check = {
  id: 'IRSA-P04',
  title: 'No container of an IRSA pod sets static AWS access keys.',
  severity: 'high',
  remediation: 'Remove AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY from the pod spec and rely on IRSA.',
  needs: ['pods'],
  *run(context) {
    for (const { pod, irsa, association } of context.auditedPods) {
      for (const container of pod.containers) {
        if (!mightSetStaticKeys(container)) continue;
        const staticKeys = container.env.filter((variable) => STATIC_KEYS.has(variable.name));
        const direct = staticKeys.map(
          (variable) =>
            `${variable.name}${variable.valueFrom === undefined ? '' : ` (from ${variable.valueFrom})`}`,
        );
        const suspicious = container.envFrom
          .filter(mayHoldStaticKeys)
          .map((source) => `envFrom ${source.kind} ${source.name}`);
        const what =
          direct.length > 0
            ? `sets ${direct.join(', ')}`
            : `may set static keys through ${suspicious.join(', ')}`;
        const literal = staticKeys.some((variable) => variable.value !== undefined);
        const fromSecret =
          staticKeys.some((variable) => variable.valueFrom === 'secretKeyRef') ||
          container.envFrom.some((source) => source.kind === 'Secret' && mayHoldStaticKeys(source));
        const which = `${container.kind === 'initContainer' ? 'init container' : 'container'} ${container.name}`;
        // The SDK chains read environment keys before web identity and before the container
        // credentials endpoint that EKS Pod Identity uses.
        const podIdentity = irsa === undefined && association !== undefined;
        yield {
          resource: { kind: 'Pod', namespace: pod.namespace, name: pod.name },
          key: container.name,
          ...(direct.length === 0 ? { severity: 'medium' as const } : {}),
          message: `In pod ${pod.namespace}/${pod.name}, ${which} ${what}; the AWS SDK prefers those over the ${podIdentity ? 'EKS Pod Identity credentials' : 'IRSA web identity token'}.`,
          evidence: { container: container.name, env: direct, envFrom: suspicious },
          remediation: `Remove the static keys from ${which} in the pod's controller spec${fromSecret ? ' (and delete the Secret if nothing else uses it)' : ''}, so the SDK falls through to ${podIdentity ? 'Pod Identity' : ENV_TOKEN_FILE}${literal ? '; literal keys are readable by anyone who can get pods, so deactivate and rotate them' : ''}.`,
        };
      }
    }
  },
};

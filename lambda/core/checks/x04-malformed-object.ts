import type { MalformedObject } from '../model/cluster-state';
import type { Check } from './check';

const KUBERNETES_KINDS: Readonly<Record<string, string>> = {
  Pod: 'pod',
  ServiceAccount: 'serviceaccount',
  MutatingWebhookConfiguration: 'mutatingwebhookconfiguration',
  Namespace: 'namespace',
};

/** How to look at the object at its origin and fix it, as concrete as its kind allows. */
function remediationFor(object: MalformedObject): string {
  const where = `Inspect ${object.path} of ${object.source}`;
  if (object.kind === 'Role') {
    const roleName = object.name.slice(object.name.lastIndexOf('/') + 1);
    return `${where} (\`aws iam get-role --role-name ${roleName} --query Role.AssumeRolePolicyDocument\`); fix the trust policy with \`aws iam update-assume-role-policy --role-name ${roleName} --policy-document file://trust.json\`, re-capture ${object.source} and audit again.`;
  }
  const resource = KUBERNETES_KINDS[object.kind];
  if (resource !== undefined && object.name !== '(unnamed)') {
    const namespace = object.namespace === undefined ? '' : ` -n ${object.namespace}`;
    return `${where} and compare it with \`kubectl get ${resource}${namespace} ${object.name} -o json\`; re-capture ${object.source} (or fix the object's manifest) and audit again.`;
  }
  return `${where}; re-capture the object and audit again.`;
}

/** A malformed object is skipped, not silently: the audit says which one and why. */
export const x04MalformedObject: Check = {
  id: 'IRSA-X04',
  title: 'Every object in the input could be parsed.',
  severity: 'high',
  remediation: 'Fix or re-capture the object; until then it is not audited.',
  needs: [],
  *run(context) {
    for (const object of context.state.malformedObjects) {
      const consequence =
        object.kind === 'Role' ? 'so its trust policy was not evaluated' : 'so it was not audited';
      yield {
        resource: {
          kind: object.kind,
          ...(object.namespace === undefined ? {} : { namespace: object.namespace }),
          name: object.name,
        },
        key: `${object.source}:${object.path}`,
        message: `${object.kind} ${object.namespace === undefined ? '' : `${object.namespace}/`}${object.name} in ${object.source} could not be read (${object.path}: ${object.problem}), ${consequence}.`,
        evidence: { source: object.source, path: object.path, problem: object.problem },
        remediation: remediationFor(object),
      };
    }
  },
};

import type { Check } from './check';

/** A malformed object is skipped, not silently: the audit says which one and why. */
export const x04MalformedObject: Check = {
  id: 'IRSA-X04',
  title: 'Every object in the input could be parsed.',
  severity: 'high',
  remediation: 'Fix or re-capture the object; until then it is not audited.',
  needs: [],
  *run(context) {
    for (const object of context.state.malformedObjects) {
      yield {
        resource: {
          kind: object.kind,
          ...(object.namespace === undefined ? {} : { namespace: object.namespace }),
          name: object.name,
        },
        key: `${object.source}:${object.path}`,
        message: `${object.kind} ${object.namespace === undefined ? '' : `${object.namespace}/`}${object.name} in ${object.source} could not be read (${object.path}: ${object.problem}), so it was not audited.`,
        evidence: { source: object.source, path: object.path, problem: object.problem },
        remediation: `Inspect ${object.path} of ${object.source}; re-capture the object (or fix its ${object.kind === 'Role' ? 'trust policy with `aws iam update-assume-role-policy`' : 'manifest'}) and audit again.`,
      };
    }
  },
};

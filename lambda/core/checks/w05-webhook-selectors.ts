import { describeSelector, selectorMatches } from '../analysis/label-selector';
import { howToRecreatePod } from '../analysis/remediation';
import type { LabelSelector, Labels } from '../model/cluster-state';
import type { Check } from './check';

// The API server sets this label on every namespace to its name; nobody can change it.
const NAMESPACE_NAME_LABEL = 'kubernetes.io/metadata.name';

/** The `kubectl label` arguments (`key=value`, `key-`) that satisfy a selector; undefined when relabelling cannot. */
function labelChanges(selector: LabelSelector, labels: Labels): string[] | undefined {
  const changes: string[] = [];
  for (const [key, value] of Object.entries(selector.matchLabels)) {
    if (labels[key] !== value) changes.push(`${key}=${value}`);
  }
  for (const requirement of selector.matchExpressions) {
    if (selectorMatches({ matchLabels: {}, matchExpressions: [requirement] }, labels)) continue;
    const { key, operator, values } = requirement;
    if (operator === 'In' && values[0] !== undefined) changes.push(`${key}=${values[0]}`);
    else if (operator === 'Exists') changes.push(`${key}=true`);
    else if (operator === 'NotIn' || operator === 'DoesNotExist') changes.push(`${key}-`);
    else return undefined;
  }
  return changes.some(
    (change) => change.startsWith(`${NAMESPACE_NAME_LABEL}=`) || change === `${NAMESPACE_NAME_LABEL}-`,
  )
    ? undefined
    : changes;
}

/** Whether a selector reads only the label every namespace carries, so it can be judged without namespaces.json. */
function onlyNamesNamespaces(selector: LabelSelector | undefined): boolean {
  if (selector === undefined) return true;
  const keys = [
    ...Object.keys(selector.matchLabels),
    ...selector.matchExpressions.map((requirement) => requirement.key),
  ];
  return keys.every((key) => key === NAMESPACE_NAME_LABEL);
}

/** A namespaceSelector or objectSelector that leaves out an IRSA workload silently skips its pods. */
export const w05WebhookSelectors: Check = {
  id: 'IRSA-W05',
  title:
    "The webhook's selectors include every namespace and pod that uses an IRSA or EKS Pod Identity ServiceAccount.",
  severity: 'high',
  remediation: "Widen the webhook's namespaceSelector/objectSelector, or relabel the namespace or pod.",
  needs: ['mutatingWebhookConfigurations', 'serviceAccounts', 'pods'],
  *run(context) {
    const located = context.webhook;
    if (located === undefined) return;
    const { configuration, webhook } = located;
    const namespaceSelector = describeSelector(webhook.namespaceSelector);
    // The same webhook injects EKS Pod Identity credentials, so its selectors matter for those SAs too.
    const namespaces = new Set([
      ...context.annotatedServiceAccounts.map((entry) => entry.serviceAccount.namespace),
      ...context.podIdentityServiceAccounts.map((serviceAccount) => serviceAccount.namespace),
    ]);
    const excludedNamespaces = new Set<string>();
    for (const namespace of [...namespaces].sort()) {
      const { labels, known } = context.namespaceLabels(namespace);
      if (selectorMatches(webhook.namespaceSelector, labels)) continue;
      const evidence = {
        webhook: webhook.name,
        namespaceSelector,
        namespaceLabels: { ...labels },
        namespaceLabelsKnown: known,
      };
      const resource = { kind: 'Namespace', name: namespace };
      if (!known && !onlyNamesNamespaces(webhook.namespaceSelector)) {
        yield {
          resource,
          key: webhook.name,
          severity: 'info',
          message: `The namespaceSelector of webhook ${webhook.name} requires \`${namespaceSelector}\`, and the labels of namespace ${namespace} (which has IRSA or Pod Identity ServiceAccounts) were not collected, so whether its pods are mutated could not be verified.`,
          evidence,
          remediation: `Look at \`kubectl get namespace ${namespace} --show-labels\`, or capture namespaces.json (\`kubectl get namespaces -o json\`) and audit again.`,
        };
        continue;
      }
      excludedNamespaces.add(namespace);
      const changes =
        webhook.namespaceSelector === undefined ? undefined : labelChanges(webhook.namespaceSelector, labels);
      const restart = `kubectl rollout restart deployment -n ${namespace}`;
      yield {
        resource,
        key: webhook.name,
        message: `The namespaceSelector of webhook ${webhook.name} (\`${namespaceSelector}\`) excludes namespace ${namespace}, which has IRSA or Pod Identity ServiceAccounts, so its pods are created without credentials.`,
        evidence,
        remediation:
          changes === undefined
            ? `Widen the namespaceSelector of ${configuration.name} so that it matches namespace ${namespace} (\`kubectl edit mutatingwebhookconfiguration ${configuration.name}\`), then re-create its pods (\`${restart}\`, and likewise for other controllers).`
            : `Label the namespace to match: \`kubectl label namespace ${namespace} ${changes.join(' ')} --overwrite\` (or widen the namespaceSelector of ${configuration.name}), then re-create its pods (\`${restart}\`, and likewise for other controllers).`,
      };
    }
    const objectSelector = describeSelector(webhook.objectSelector);
    for (const { pod, injection, irsa, association } of context.auditedPods) {
      if (irsa === undefined && association === undefined) continue;
      if (excludedNamespaces.has(pod.namespace)) continue;
      // The skip label is the documented opt-out: P01 reports it at info level.
      if (injection.skipLabel) continue;
      if (selectorMatches(webhook.objectSelector, pod.labels)) continue;
      const changes =
        webhook.objectSelector === undefined ? undefined : labelChanges(webhook.objectSelector, pod.labels);
      const relabel =
        changes === undefined || changes.length === 0
          ? `Widen the objectSelector of ${configuration.name} (\`kubectl edit mutatingwebhookconfiguration ${configuration.name}\`)`
          : `Change the labels of the pod template (${changes.map((change) => (change.endsWith('-') ? `remove ${change.slice(0, -1)}` : change)).join(', ')}) or widen the objectSelector of ${configuration.name}`;
      yield {
        resource: { kind: 'Pod', namespace: pod.namespace, name: pod.name },
        key: webhook.name,
        message: `The objectSelector of webhook ${webhook.name} (\`${objectSelector}\`) excludes pod ${pod.namespace}/${pod.name}, whose ServiceAccount ${pod.serviceAccountName} ${irsa === undefined ? 'has a Pod Identity association' : 'asks for an IAM role'}, so it is created without credentials.`,
        evidence: {
          webhook: webhook.name,
          objectSelector,
          podLabels: { ...pod.labels },
        },
        remediation: `${relabel}, then re-create the pod: ${howToRecreatePod(pod)}.`,
      };
    }
  },
};

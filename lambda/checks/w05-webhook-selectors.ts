import type { Check } from './check';
import { describeSelector, selectorMatches } from './label-selector';
import { podInjection } from './pod-injection';

/** A namespaceSelector or objectSelector that leaves out an IRSA workload silently skips its pods. */
export const w05WebhookSelectors: Check = {
  id: 'IRSA-W05',
  title: "The webhook's selectors include every namespace and pod that uses an IRSA ServiceAccount.",
  severity: 'high',
  remediation: "Widen the webhook's namespaceSelector/objectSelector, or relabel the namespace or pod.",
  needs: ['mutatingWebhookConfigurations', 'serviceAccounts', 'pods'],
  *run(context) {
    const located = context.webhook;
    if (located === undefined) return;
    const { configuration, webhook } = located;
    const namespaces = new Set(
      context.annotatedServiceAccounts.map((entry) => entry.serviceAccount.namespace),
    );
    const excludedNamespaces = new Set<string>();
    for (const namespace of [...namespaces].sort()) {
      const { labels, known } = context.namespaceLabels(namespace);
      if (selectorMatches(webhook.namespaceSelector, labels)) continue;
      excludedNamespaces.add(namespace);
      yield {
        resource: { kind: 'Namespace', name: namespace },
        key: webhook.name,
        message: `The namespaceSelector of webhook ${webhook.name} excludes namespace ${namespace}, which has IRSA ServiceAccounts, so its pods are created without credentials.`,
        evidence: {
          webhook: webhook.name,
          namespaceSelector: describeSelector(webhook.namespaceSelector),
          namespaceLabels: { ...labels },
          namespaceLabelsKnown: known,
        },
        remediation: `Label the namespace to match \`${describeSelector(webhook.namespaceSelector)}\` (kubectl label namespace ${namespace} ...) or widen the namespaceSelector of ${configuration.name}, then re-create its pods.`,
      };
    }
    for (const pod of context.podsInScope) {
      if (excludedNamespaces.has(pod.namespace)) continue;
      if (context.annotatedServiceAccount(pod.namespace, pod.serviceAccountName) === undefined) continue;
      // The skip label is the documented opt-out: P01 reports it at info level.
      if (podInjection(pod).skipLabel) continue;
      if (selectorMatches(webhook.objectSelector, pod.labels)) continue;
      yield {
        resource: { kind: 'Pod', namespace: pod.namespace, name: pod.name },
        key: webhook.name,
        message: `The objectSelector of webhook ${webhook.name} excludes pod ${pod.namespace}/${pod.name}, whose ServiceAccount ${pod.serviceAccountName} asks for an IAM role.`,
        evidence: {
          webhook: webhook.name,
          objectSelector: describeSelector(webhook.objectSelector),
          podLabels: { ...pod.labels },
        },
        remediation: `Change the pod template's labels to match \`${describeSelector(webhook.objectSelector)}\` or widen the objectSelector of ${configuration.name}, then re-create the pod.`,
      };
    }
  },
};

import type { Check } from './check';

/** With failurePolicy Ignore a broken webhook is invisible: pods start, just without credentials. */
export const w06WebhookFailurePolicy: Check = {
  id: 'IRSA-W06',
  title: 'Webhook failures are not silent.',
  severity: 'info',
  remediation:
    'Keep watching unmutated pods (IRSA-P01): with failurePolicy Ignore they are the only symptom of a broken webhook.',
  needs: ['mutatingWebhookConfigurations'],
  *run(context) {
    const located = context.webhook;
    if (located === undefined || located.webhook.failurePolicy !== 'Ignore') return;
    const { configuration, webhook } = located;
    yield {
      resource: { kind: 'MutatingWebhookConfiguration', name: configuration.name },
      key: webhook.name,
      message: `Webhook ${webhook.name} has failurePolicy Ignore: if the API server cannot call it, pods are still created, silently without IRSA credentials.`,
      evidence: { webhook: webhook.name, failurePolicy: webhook.failurePolicy },
      remediation:
        'Nothing to change on EKS (the control plane sets Ignore so that pods can start while the webhook is down); alarm on IRSA-P01 so that unmutated pods are noticed.',
    };
  },
};

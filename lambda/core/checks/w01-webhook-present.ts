import type { Check } from './check';

/** Without the pod identity webhook no pod gets a web identity token, whatever IAM says. */
export const w01WebhookPresent: Check = {
  id: 'IRSA-W01',
  title: 'The pod identity mutating webhook is configured.',
  severity: 'critical',
  remediation:
    'Restore the MutatingWebhookConfiguration pod-identity-webhook (on EKS it is managed by the control plane: open a support case if it is gone).',
  needs: ['mutatingWebhookConfigurations', 'serviceAccounts'],
  *run(context) {
    if (context.webhook !== undefined) return;
    // The same webhook injects EKS Pod Identity credentials (handler.go buildPodPatchConfig), so
    // ServiceAccounts with an association need it as much as annotated ones.
    const irsa = context.annotatedServiceAccounts.length;
    const podIdentity = context.podIdentityServiceAccounts.length;
    if (irsa + podIdentity === 0) return;
    const users = [
      ...(irsa === 0 ? [] : [`${irsa} IRSA ServiceAccount(s)`]),
      ...(podIdentity === 0 ? [] : [`${podIdentity} Pod Identity ServiceAccount(s)`]),
    ].join(' and ');
    const { webhookName } = context.options;
    const configurations = context.state.mutatingWebhookConfigurations;
    yield {
      resource: { kind: 'MutatingWebhookConfiguration', name: 'pod-identity-webhook' },
      key: webhookName,
      message: `No MutatingWebhookConfiguration has a webhook named ${webhookName}, so no pod is given ${podIdentity === 0 ? 'web identity' : 'IAM'} credentials and the pods of all ${users} run with the node role.`,
      evidence: {
        webhookName,
        irsaServiceAccounts: irsa,
        podIdentityServiceAccounts: podIdentity,
        configurations: configurations.map((configuration) => ({
          name: configuration.name,
          webhooks: configuration.webhooks.map((webhook) => webhook.name),
        })),
      },
      remediation: `Check \`kubectl get mutatingwebhookconfiguration pod-identity-webhook -o yaml\`; on EKS the control plane owns it, so open an AWS support case if it is missing; on self-managed clusters redeploy amazon-eks-pod-identity-webhook. If your webhook has another name, audit with --webhook-name.`,
    };
  },
};

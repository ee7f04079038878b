import type { AuditContext } from '../analysis/context';
import { selectorMatches } from '../analysis/label-selector';
import type { WebhookProbe } from '../model/cluster-state';
import type { Check } from './check';
import { ruleMatchesPodCreate } from './w04-webhook-rules';

/** Reading the configuration is not proof: a dry-run create shows whether the webhook mutates pods right now. */
export const w07WebhookProbe: Check = {
  id: 'IRSA-W07',
  title: 'A dry-run pod with an IRSA ServiceAccount comes back with credentials injected.',
  severity: 'critical',
  remediation: 'Fix the webhook causes named in the finding (IRSA-W01/W02/W04/W05), then probe again.',
  needs: ['webhookProbes'],
  *run(context) {
    for (const probe of context.state.webhookProbes ?? []) {
      if (probe.outcome === 'mutated') continue;
      const blocker = rejectingWebhook(probe.detail);
      if (probe.outcome === 'rejected' && blocker !== undefined && blocker !== context.options.webhookName) {
        yield {
          resource: { kind: 'Namespace', name: probe.namespace },
          key: `rejected-by:${blocker}`,
          severity: 'high',
          message: `A dry-run pod with ServiceAccount ${probe.namespace}/${probe.serviceAccount} was rejected by another webhook, ${blocker} (${probe.detail ?? 'no reason given'}), so pods cannot be created in ${probe.namespace} at all and the pod identity webhook could not be verified there.`,
          evidence: {
            serviceAccount: `${probe.namespace}/${probe.serviceAccount}`,
            outcome: probe.outcome,
            rejectedBy: blocker,
            ...(probe.detail === undefined ? {} : { apiServerMessage: probe.detail }),
          },
          remediation: `Fix webhook ${blocker} (its service or endpoint, or its failurePolicy: \`kubectl get mutatingwebhookconfigurations,validatingwebhookconfigurations -o wide\`), then run the audit with --probe again to verify ${context.options.webhookName}.`,
        };
        continue;
      }
      const causes = likelyCauses(context, probe);
      const what =
        probe.outcome === 'rejected'
          ? `was rejected by the API server (${probe.detail ?? 'no reason given'})`
          : `came back without ${probe.missing.join(', ')}`;
      yield {
        resource: { kind: 'Namespace', name: probe.namespace },
        key: probe.outcome,
        message: `A dry-run pod with ServiceAccount ${probe.namespace}/${probe.serviceAccount} ${what}: new pods there get no IRSA credentials${probe.outcome === 'rejected' ? ' or are not created at all' : ''}.`,
        evidence: {
          serviceAccount: `${probe.namespace}/${probe.serviceAccount}`,
          roleArn: probe.roleArn,
          outcome: probe.outcome,
          missing: [...probe.missing],
          ...(probe.detail === undefined ? {} : { apiServerMessage: probe.detail }),
          likelyCauses: causes,
        },
        remediation: `${causes.length > 0 ? `Fix ${causes.join('; ')}.` : 'The configuration looks right, so the webhook itself is failing: check the pod identity webhook is running and reachable from the API server.'} Then run the audit with --probe again, and re-create the pods created since the webhook broke (IRSA-P01).`,
      };
    }
  },
};

/** The static reasons a probe would fail, from the webhook configuration, so the finding points somewhere. */
function likelyCauses(context: AuditContext, probe: WebhookProbe): string[] {
  const located = context.webhook;
  if (located === undefined)
    return [`IRSA-W01: no webhook named ${context.options.webhookName} is configured`];
  const { webhook } = located;
  const causes: string[] = [];
  const clusterCa = new Set(
    context.state.cluster.certificateAuthority.certificates.map((c) => c.sha256Fingerprint),
  );
  if (!webhook.caBundle.certificates.some((certificate) => clusterCa.has(certificate.sha256Fingerprint))) {
    causes.push(`IRSA-W02: the caBundle of ${webhook.name} does not hold the cluster CA`);
  }
  if (!webhook.rules.some(ruleMatchesPodCreate)) {
    causes.push(`IRSA-W04: the rules of ${webhook.name} do not match pod CREATE`);
  }
  if (!selectorMatches(webhook.namespaceSelector, context.namespaceLabels(probe.namespace).labels)) {
    causes.push(`IRSA-W05: the namespaceSelector of ${webhook.name} excludes namespace ${probe.namespace}`);
  }
  return causes;
}

// kube-apiserver names the webhook in both ways a webhook rejects a pod.
const REJECTING_WEBHOOK = /(?:failed calling webhook|admission webhook) "([^"]+)"/;

/** The webhook the API server says rejected the pod, if its message names one. */
function rejectingWebhook(detail: string | undefined): string | undefined {
  return detail === undefined ? undefined : REJECTING_WEBHOOK.exec(detail)?.[1];
}

import { caBundlePatchCommand } from '../analysis/remediation';
import type { Check } from './check';

/** What the API server does with a pod when it cannot call the webhook, by failurePolicy. */
function unreachableWebhookEffect(failurePolicy: string): string {
  // admissionregistration/v1: Fail rejects the request, Ignore admits it unmutated.
  return failurePolicy === 'Fail'
    ? 'with failurePolicy Fail, rejects every pod CREATE the webhook matches'
    : `with failurePolicy ${failurePolicy}, creates pods without IRSA credentials and without an error`;
}

/** The API server verifies the webhook's serving certificate with caBundle; a wrong one makes every call fail. */
export const w02WebhookCaBundle: Check = {
  id: 'IRSA-W02',
  title: "The webhook's caBundle contains the cluster CA certificate.",
  severity: 'critical',
  remediation: "Set the webhook's clientConfig.caBundle to the cluster CA (certificateAuthority.data).",
  needs: ['cluster', 'mutatingWebhookConfigurations'],
  *run(context) {
    const located = context.webhook;
    if (located === undefined) return;
    const { configuration, webhook } = located;
    const clusterCa = context.state.cluster.certificateAuthority;
    const bundle = webhook.caBundle;
    const resource = { kind: 'MutatingWebhookConfiguration', name: configuration.name };
    const patch = caBundlePatchCommand(
      configuration.name,
      configuration.webhooks.indexOf(webhook),
      context.state.cluster.name,
    );
    const effect = unreachableWebhookEffect(webhook.failurePolicy);
    const clusterFingerprints = clusterCa.certificates.map((certificate) => certificate.sha256Fingerprint);
    const bundleFingerprints = bundle.certificates.map((certificate) => certificate.sha256Fingerprint);
    const evidence = {
      webhook: webhook.name,
      failurePolicy: webhook.failurePolicy,
      caBundleCertificates: bundle.certificates.map((c) => ({
        subject: c.subject,
        sha256: c.sha256Fingerprint,
      })),
      clusterCaCertificates: clusterCa.certificates.map((c) => ({
        subject: c.subject,
        sha256: c.sha256Fingerprint,
      })),
      ...(bundle.problem === undefined ? {} : { caBundleProblem: bundle.problem }),
    };
    if (bundle.certificates.length === 0) {
      const why =
        bundle.rawLength === 0
          ? 'is empty'
          : `is not a base64 PEM bundle (${bundle.problem ?? 'no certificate found'})`;
      yield {
        resource,
        key: 'unreadable',
        message: `The caBundle of webhook ${webhook.name} ${why}, so the API server cannot verify the webhook and, ${effect}.`,
        evidence,
        remediation: `Put the cluster CA back: \`${patch}\`.`,
      };
      return;
    }
    if (clusterFingerprints.length === 0) {
      yield {
        resource,
        key: 'cluster-ca-unknown',
        severity: 'info',
        message: `The cluster CA is not known (${clusterCa.problem ?? 'certificateAuthority.data is empty'}), so the caBundle of webhook ${webhook.name} could not be compared with it.`,
        evidence,
        remediation: `Capture cluster.json with \`aws eks describe-cluster --name ${context.state.cluster.name}\` so that certificateAuthority.data is present, and audit again.`,
      };
      return;
    }
    // The API server's cert pool takes every block it can parse, so one match is enough.
    if (clusterFingerprints.some((fingerprint) => bundleFingerprints.includes(fingerprint))) return;
    yield {
      resource,
      key: 'mismatch',
      message: `The caBundle of webhook ${webhook.name} does not contain the cluster CA certificate (it holds ${bundle.certificates.map((c) => `"${c.subject}" sha256 ${c.sha256Fingerprint.slice(0, 16)}…`).join(', ')}; the cluster CA is sha256 ${clusterFingerprints.map((f) => `${f.slice(0, 16)}…`).join(', ')}), so the API server cannot verify the webhook and, ${effect}.`,
      evidence,
      remediation: `Replace the caBundle with the cluster CA, then re-create the pods created since the change: \`${patch}\`.`,
    };
  },
};

import type { Check } from './check';

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
    const patch = `kubectl patch mutatingwebhookconfiguration ${configuration.name} --type json -p "[{\\"op\\":\\"replace\\",\\"path\\":\\"/webhooks/${configuration.webhooks.indexOf(webhook)}/clientConfig/caBundle\\",\\"value\\":\\"$(aws eks describe-cluster --name ${context.state.cluster.name} --query cluster.certificateAuthority.data --output text)\\"}]"`;
    const clusterFingerprints = clusterCa.certificates.map((certificate) => certificate.sha256Fingerprint);
    const bundleFingerprints = bundle.certificates.map((certificate) => certificate.sha256Fingerprint);
    const evidence = {
      webhook: webhook.name,
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
        message: `The caBundle of webhook ${webhook.name} ${why}, so the API server cannot trust the webhook and (with failurePolicy ${webhook.failurePolicy}) pods are created without IRSA credentials.`,
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
        remediation:
          'Capture cluster.json with `aws eks describe-cluster` so that certificateAuthority.data is present.',
      };
      return;
    }
    if (clusterFingerprints.some((fingerprint) => bundleFingerprints.includes(fingerprint))) return;
    yield {
      resource,
      key: 'mismatch',
      message: `The caBundle of webhook ${webhook.name} does not contain the cluster CA certificate, so the API server cannot verify the webhook and (with failurePolicy ${webhook.failurePolicy}) pods are created without IRSA credentials.`,
      evidence,
      remediation: `Replace the caBundle with the cluster CA, then re-create the pods created since the change: \`${patch}\`.`,
    };
  },
};

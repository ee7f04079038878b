import { caBundlePatchCommand } from '../analysis/remediation';
import type { Certificate } from '../model/cluster-state';
import type { Check } from './check';

const DAY_MS = 86_400_000;
const WARNING_DAYS = 30;

const validAt = (certificate: Certificate, now: number) =>
  Date.parse(certificate.notBefore) <= now && now <= Date.parse(certificate.notAfter);

/** An expired (or not yet valid) CA in caBundle breaks the webhook call just like a wrong one. */
export const w03WebhookCertificateValidity: Check = {
  id: 'IRSA-W03',
  title: "Every certificate in the webhook's caBundle is currently valid.",
  severity: 'high',
  remediation: 'Replace the expired certificate in caBundle with the current cluster CA.',
  needs: ['mutatingWebhookConfigurations'],
  *run(context) {
    const located = context.webhook;
    if (located === undefined) return;
    const { configuration, webhook } = located;
    const now = context.options.now.getTime();
    const clusterName = context.state.cluster.name;
    const clusterFingerprints = new Set(
      context.state.cluster.certificateAuthority.certificates.map(
        (certificate) => certificate.sha256Fingerprint,
      ),
    );
    // Go's verifier builds a chain to any root in the pool: beside a valid cluster CA (which signs
    // the webhook's serving certificate on EKS) another expired root changes nothing.
    const validClusterCaPresent = webhook.caBundle.certificates.some(
      (certificate) => clusterFingerprints.has(certificate.sha256Fingerprint) && validAt(certificate, now),
    );
    const patch = caBundlePatchCommand(
      configuration.name,
      configuration.webhooks.indexOf(webhook),
      clusterName,
    );
    const resource = { kind: 'MutatingWebhookConfiguration', name: configuration.name };
    for (const certificate of webhook.caBundle.certificates) {
      const notBefore = Date.parse(certificate.notBefore);
      const notAfter = Date.parse(certificate.notAfter);
      const leftover = validClusterCaPresent && !clusterFingerprints.has(certificate.sha256Fingerprint);
      const evidence = {
        webhook: webhook.name,
        subject: certificate.subject,
        sha256: certificate.sha256Fingerprint,
        notBefore: certificate.notBefore,
        notAfter: certificate.notAfter,
        now: context.options.now.toISOString(),
        isClusterCa: clusterFingerprints.has(certificate.sha256Fingerprint),
      };
      if (now > notAfter || now < notBefore) {
        const state =
          now > notAfter
            ? `expired on ${certificate.notAfter}`
            : `is not valid until ${certificate.notBefore}`;
        if (leftover) {
          yield {
            resource,
            key: certificate.sha256Fingerprint,
            severity: 'low',
            message: `The caBundle certificate "${certificate.subject}" of webhook ${webhook.name} ${state}; it is not the cluster CA, and the valid cluster CA beside it still lets the API server verify the webhook, so it is only clutter.`,
            evidence,
            remediation: `Remove it by setting the caBundle to the cluster CA alone: \`${patch}\`.`,
          };
          continue;
        }
        yield {
          resource,
          key: certificate.sha256Fingerprint,
          message: `The caBundle certificate "${certificate.subject}" of webhook ${webhook.name} ${state}, so the API server may refuse the webhook's serving certificate.`,
          evidence,
          remediation: `Replace the caBundle of webhook ${webhook.name} with the current cluster CA: \`${patch}\`.`,
        };
      } else if (notAfter - now < WARNING_DAYS * DAY_MS && !leftover) {
        const days = Math.floor((notAfter - now) / DAY_MS);
        yield {
          resource,
          key: certificate.sha256Fingerprint,
          severity: 'medium',
          message: `The caBundle certificate "${certificate.subject}" of webhook ${webhook.name} expires in ${days} day(s), on ${certificate.notAfter}; after that the API server may refuse the webhook's serving certificate.`,
          evidence,
          remediation: evidence.isClusterCa
            ? `This is the cluster CA itself: once the cluster's CA has been renewed, put the new one into the caBundle of webhook ${webhook.name}: \`${patch}\`.`
            : `Replace the caBundle of webhook ${webhook.name} with the cluster CA: \`${patch}\`.`,
        };
      }
    }
  },
};

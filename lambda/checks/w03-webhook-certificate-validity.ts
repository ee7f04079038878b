import type { Check } from './check';

const DAY_MS = 86_400_000;
const WARNING_DAYS = 30;

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
    for (const certificate of webhook.caBundle.certificates) {
      const notBefore = Date.parse(certificate.notBefore);
      const notAfter = Date.parse(certificate.notAfter);
      const evidence = {
        webhook: webhook.name,
        subject: certificate.subject,
        sha256: certificate.sha256Fingerprint,
        notBefore: certificate.notBefore,
        notAfter: certificate.notAfter,
        now: context.options.now.toISOString(),
      };
      const resource = { kind: 'MutatingWebhookConfiguration', name: configuration.name };
      const remediation = `Replace the certificate "${certificate.subject}" in the caBundle of webhook ${webhook.name} (configuration ${configuration.name}) with the current cluster CA from \`aws eks describe-cluster --name ${context.state.cluster.name} --query cluster.certificateAuthority.data\`.`;
      if (now > notAfter || now < notBefore) {
        const state =
          now > notAfter
            ? `expired on ${certificate.notAfter}`
            : `is not valid until ${certificate.notBefore}`;
        yield {
          resource,
          key: certificate.sha256Fingerprint,
          message: `The caBundle certificate "${certificate.subject}" of webhook ${webhook.name} ${state}, so the API server may refuse the webhook's serving certificate.`,
          evidence,
          remediation,
        };
      } else if (notAfter - now < WARNING_DAYS * DAY_MS) {
        const days = Math.floor((notAfter - now) / DAY_MS);
        yield {
          resource,
          key: certificate.sha256Fingerprint,
          severity: 'medium',
          message: `The caBundle certificate "${certificate.subject}" of webhook ${webhook.name} expires in ${days} day(s), on ${certificate.notAfter}.`,
          evidence,
          remediation,
        };
      }
    }
  },
};

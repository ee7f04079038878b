// Parses base64 PEM bundles (caBundle, certificateAuthority.data) into certificates, at the source edge.

import { X509Certificate } from 'node:crypto';
import type { Certificate, CertificateBundle } from '../../core/model/cluster-state';

const PEM_BLOCK = /-----BEGIN CERTIFICATE-----([\s\S]*?)-----END CERTIFICATE-----/g;

/** Reads a base64-encoded PEM bundle; never throws: what cannot be read is described in `problem`. */
export function parseCertificateBundle(base64: string | undefined): CertificateBundle {
  const raw = (base64 ?? '').trim();
  if (raw === '') return { certificates: [], rawLength: 0 };
  if (!/^[A-Za-z0-9+/=\s]+$/.test(raw)) {
    return { certificates: [], rawLength: raw.length, problem: 'the value is not base64' };
  }
  const pem = Buffer.from(raw, 'base64').toString('latin1');
  const blocks = [...pem.matchAll(PEM_BLOCK)];
  if (blocks.length === 0) {
    return { certificates: [], rawLength: raw.length, problem: 'the decoded value holds no PEM certificate' };
  }
  const certificates: Certificate[] = [];
  const problems: string[] = [];
  blocks.forEach((block, index) => {
    try {
      certificates.push(describeCertificate(new X509Certificate(block[0])));
    } catch (error) {
      problems.push(
        `certificate ${index + 1} is not valid X.509 (${error instanceof Error ? error.message : String(error)})`,
      );
    }
  });
  return problems.length === 0
    ? { certificates, rawLength: raw.length }
    : { certificates, rawLength: raw.length, problem: problems.join('; ') };
}

function describeCertificate(certificate: X509Certificate): Certificate {
  return {
    // Compare by DER fingerprint, not PEM text: line wrapping and headers differ between tools.
    sha256Fingerprint: certificate.fingerprint256.replaceAll(':', '').toLowerCase(),
    subject: certificate.subject.replaceAll('\n', ', '),
    issuer: certificate.issuer.replaceAll('\n', ', '),
    notBefore: new Date(certificate.validFrom).toISOString(),
    notAfter: new Date(certificate.validTo).toISOString(),
  };
}

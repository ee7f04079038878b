// OIDC issuer URLs are written three ways (EKS: `https://host/id/X`, IAM: `host/id/X`, condition
// keys: `host/id/X:sub`); compare them only after normalising.

/** Host and path of an issuer, without scheme or trailing slash, host in lower case. */
export function normalizeIssuer(url: string): string {
  const withoutScheme = url.trim().replace(/^https?:\/\//i, '');
  const withoutSlash = withoutScheme.replace(/\/+$/, '');
  const slash = withoutSlash.indexOf('/');
  if (slash < 0) return withoutSlash.toLowerCase();
  return withoutSlash.slice(0, slash).toLowerCase() + withoutSlash.slice(slash);
}

/** True when two issuer spellings name the same issuer. */
export function sameIssuer(a: string, b: string): boolean {
  return normalizeIssuer(a) === normalizeIssuer(b);
}

const EKS_ISSUER = /^oidc\.eks\.([a-z0-9-]+)\.amazonaws\.com(\.cn)?\/id\/[0-9A-Za-z]+$/;

/** The region of an EKS issuer, or undefined when the issuer is not one EKS creates. */
export function eksIssuerRegion(issuer: string): string | undefined {
  return EKS_ISSUER.exec(normalizeIssuer(issuer))?.[1];
}

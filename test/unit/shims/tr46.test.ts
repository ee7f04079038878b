// The bundle's tr46 (lambda/shims/tr46.cjs) answers node-fetch's URL parser as tr46 itself does: the package
// it replaces is installed (a dependency of client-node's node-fetch) and is the oracle here.

import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';

interface Tr46 {
  readonly PROCESSING_OPTIONS: { readonly NONTRANSITIONAL: number };
  toASCII(domain: string, checkHyphens: boolean, processing: number, useStd3: boolean): string | null;
}

const require = createRequire(import.meta.url);
const shim = require('../../../lambda/shims/tr46.cjs') as Tr46;
const tr46 = require('tr46') as Tr46;
// How whatwg-url 5 (url-state-machine.js, parseHost) calls it.
const asWhatwgUrl = (module: Tr46, domain: string) =>
  module.toASCII(domain, false, module.PROCESSING_OPTIONS.NONTRANSITIONAL, false);

describe('the bundle’s tr46', () => {
  it.each([
    'ABCDEF0123456789.GR7.EU-WEST-1.EKS.AMAZONAWS.COM',
    'oidc.eks.eu-west-1.amazonaws.com',
    'localhost',
    '127.0.0.1',
    'bücher.example',
    'xn--bcher-kva.example',
    'faß.de',
    'ＥＸＡＭＰＬＥ.com',
  ])('converts %s as tr46 does', (domain) => {
    expect(asWhatwgUrl(shim, domain)).toBe(asWhatwgUrl(tr46, domain));
  });

  // Percent-decoded by whatwg-url before the call: tr46 passes them on and whatwg-url refuses the host; the shim
  // refuses them itself, never a shorter host (url.domainToASCII would cut at the first / ? #).
  it.each(['good.com#.evil.com', 'a/b.example', 'a\tb.com', 'a?b.com'])('refuses %j', (domain) => {
    expect(asWhatwgUrl(shim, domain)).toBeNull();
  });

  // tr46 0.0.3 predates the current UTS #46: it passes these, which today's URL standard (Node's URL) refuses.
  it.each(['xn--a.example', '\u00ad', 'a\u200db.example'])(
    'refuses %j as the URL standard does',
    (domain) => {
      expect(URL.canParse(`https://${domain}/`)).toBe(false);
      expect(asWhatwgUrl(shim, domain)).toBeNull();
    },
  );
});

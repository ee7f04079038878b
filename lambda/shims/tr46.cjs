// tr46 for the bundles: the one call node-fetch's URL parser (whatwg-url 5, inside client-node) makes,
// `toASCII(domain, false, NONTRANSITIONAL, false)`, answered by Node's own UTS #46 processing (url.domainToASCII:
// non-transitional, no STD3 rules) instead of tr46 0.0.3 and its 254 KiB Unicode mapping table, which every cold
// start would evaluate. lib/auditor-function.ts aliases `tr46` to this file; whatwg-url reads null as "not a
// valid domain". Nothing calls tr46's toUnicode.
'use strict';

const { domainToASCII } = require('node:url');

const PROCESSING_OPTIONS = { TRANSITIONAL: 0, NONTRANSITIONAL: 1 };
// whatwg-url 5's forbidden host code points. domainToASCII parses its argument as a URL's host, so it would stop
// at `/`, `?` or `#` and drop tabs and newlines: `good.com#.evil.com` would come back as `good.com`. whatwg-url
// hands over the host percent-decoded, so such a domain is refused here, as whatwg-url refuses it after tr46.
const FORBIDDEN = /[\0\t\n\r #%/:?@[\\\]]/;

function toASCII(domain) {
  if (FORBIDDEN.test(domain)) return null;
  const ascii = domainToASCII(domain);
  return ascii === '' && domain !== '' ? null : ascii;
}

module.exports = { PROCESSING_OPTIONS, toASCII };

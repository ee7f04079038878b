// tr46 for the Lambda bundle: the one call node-fetch's URL parser (whatwg-url 5) makes, answered by Node's own
// UTS #46 processing (url.domainToASCII: non-transitional, no STD3 rules, exactly what whatwg-url asks for)
// instead of tr46 0.0.3 and its 254 KiB Unicode mapping table, which every cold start would evaluate.
// lib/auditor-function.ts aliases `tr46` to this file; whatwg-url reads null as "not a valid domain".
'use strict';

const { domainToASCII, domainToUnicode } = require('node:url');

const PROCESSING_OPTIONS = { TRANSITIONAL: 0, NONTRANSITIONAL: 1 };

function toASCII(domain) {
  const ascii = domainToASCII(domain);
  return ascii === '' && domain !== '' ? null : ascii;
}

function toUnicode(domain) {
  return { domain: domainToUnicode(domain), error: false };
}

module.exports = { PROCESSING_OPTIONS, toASCII, toUnicode };

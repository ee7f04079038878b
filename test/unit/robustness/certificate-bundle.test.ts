// caBundle / certificateAuthority.data parsing over arbitrary text, random base64, truncated,
// corrupted and re-wrapped real PEM: it never throws and compares certificates by DER, not text.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseCertificateBundle } from '../../../lambda/sources/parse/certificates';
import { examplePem, otherExamplePem, runs } from '../../support/arbitraries';

const PEM = examplePem();
const OTHER_PEM = otherExamplePem();
const BEGIN = '-----BEGIN CERTIFICATE-----';
const END = '-----END CERTIFICATE-----';
const BODY = PEM.replace(BEGIN, '').replace(END, '').replace(/\s+/g, '');
const FINGERPRINT = parseCertificateBundle(base64(PEM)).certificates[0]?.sha256Fingerprint;

function base64(text: string): string {
  return Buffer.from(text, 'latin1').toString('base64');
}

/** The same certificate body, wrapped at another width, with other line endings and indentation. */
function rewrapped(body: string, width: number | undefined, newline: string, indent: string): string {
  if (width === undefined) return `${BEGIN}${body}${END}`;
  const lines = body.match(new RegExp(`.{1,${width}}`, 'g')) ?? [];
  return [BEGIN, ...lines.map((line) => `${indent}${line}`), END, ''].join(newline);
}

describe('certificate bundle robustness', () => {
  it('reads the example CA as one certificate', () => {
    const bundle = parseCertificateBundle(base64(PEM));

    expect(bundle.problem).toBeUndefined();
    expect(bundle.certificates).toHaveLength(1);
    expect(FINGERPRINT).toMatch(/^[0-9a-f]{64}$/);
  });

  it('never throws on arbitrary text and describes what it cannot read', () => {
    fc.assert(
      fc.property(
        fc.oneof(fc.string({ unit: 'binary', maxLength: 200 }), fc.base64String({ maxLength: 200 })),
        (raw) => {
          const bundle = parseCertificateBundle(raw);

          expect(bundle.rawLength).toBe(raw.trim().length);
          if (bundle.certificates.length === 0 && raw.trim() !== '')
            expect(bundle.problem).toEqual(expect.any(String));
        },
      ),
      { numRuns: runs(500) },
    );
  });

  it('reports random bytes and fake PEM blocks as problems, not certificates', () => {
    const payload = fc.oneof(
      fc.uint8Array({ maxLength: 600 }).map((bytes) => Buffer.from(bytes).toString('latin1')),
      fc.base64String({ maxLength: 400 }).map((body) => `${BEGIN}\n${body}\n${END}\n`),
      fc
        .uint8Array({ minLength: 1, maxLength: 400 })
        .map((bytes) => `${BEGIN}\n${Buffer.from(bytes).toString('base64')}\n${END}\n`),
    );
    fc.assert(
      fc.property(payload, (text) => {
        const bundle = parseCertificateBundle(base64(text));

        expect(bundle.certificates).toEqual([]);
        if (text !== '') expect(bundle.problem).toEqual(expect.any(String));
      }),
      { numRuns: runs(300) },
    );
  });

  it('reads a truncated PEM as a problem unless the END line survived', () => {
    fc.assert(
      fc.property(fc.nat({ max: PEM.length }), (length) => {
        const text = PEM.slice(0, length);

        const bundle = parseCertificateBundle(base64(text));

        const complete = text.includes(END);
        expect(bundle.certificates).toHaveLength(complete ? 1 : 0);
        if (!complete && text.trim() !== '') expect(bundle.problem).toEqual(expect.any(String));
      }),
      { numRuns: runs(300) },
    );
  });

  it('never throws on a corrupted PEM body and names each unreadable block', () => {
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=!-* \n';
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.nat({ max: BODY.length - 1 }), fc.constantFrom(...alphabet.split(''))), {
          minLength: 1,
          maxLength: 4,
        }),
        (edits) => {
          const characters = BODY.split('');
          for (const [position, character] of edits) characters[position] = character;
          const body = characters.join('');

          const bundle = parseCertificateBundle(base64(rewrapped(body, 64, '\n', '')));

          expect(bundle.certificates.length).toBeLessThanOrEqual(1);
          if (bundle.certificates.length === 0) expect(bundle.problem).toMatch(/certificate 1/);
          if (body === BODY) expect(bundle.certificates[0]?.sha256Fingerprint).toBe(FINGERPRINT);
        },
      ),
      { numRuns: runs(300) },
    );
  });

  it('reads a bundle of the same certificate twice as two certificates with one fingerprint', () => {
    fc.assert(
      fc.property(fc.constantFrom('', '\n', '\n\n', '\r\n', 'subject=CN = kubernetes\n'), (separator) => {
        const bundle = parseCertificateBundle(base64(`${PEM}${separator}${PEM}`));

        expect(bundle.problem).toBeUndefined();
        expect(bundle.certificates.map((certificate) => certificate.sha256Fingerprint)).toEqual([
          FINGERPRINT,
          FINGERPRINT,
        ]);
      }),
      { numRuns: runs(20) },
    );
  });

  it('keeps distinct certificates of a bundle apart and in order', () => {
    const bundle = parseCertificateBundle(base64(`${OTHER_PEM}${PEM}`));

    const fingerprints = bundle.certificates.map((certificate) => certificate.sha256Fingerprint);
    expect(fingerprints).toHaveLength(2);
    expect(fingerprints[1]).toBe(FINGERPRINT);
    expect(fingerprints[0]).not.toBe(FINGERPRINT);
  });

  it('gives the same fingerprint whatever the line wrapping of the PEM and of its base64', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 2000 }),
        fc.constantFrom('\n', '\r\n'),
        fc.constantFrom('', ' ', '\t', '    '),
        fc.option(fc.integer({ min: 4, max: 120 }), { nil: undefined }),
        (width, newline, indent, base64Width) => {
          const encoded = base64(rewrapped(BODY, width, newline, indent));
          const field =
            base64Width === undefined
              ? encoded
              : (encoded.match(new RegExp(`.{1,${base64Width}}`, 'g')) ?? []).join('\n');

          const bundle = parseCertificateBundle(field);

          expect(bundle.problem).toBeUndefined();
          expect(bundle.certificates.map((certificate) => certificate.sha256Fingerprint)).toEqual([
            FINGERPRINT,
          ]);
        },
      ),
      { numRuns: runs(300) },
    );
  });

  // Go's encoding/pem (the API server's) needs a line break after the BEGIN line, so a PEM squashed
  // onto one line (`tr -d '\n'`) makes the webhook untrusted: reporting it as unreadable is correct.
  it('reads a PEM squashed onto one line as unreadable, as the API server does', () => {
    const bundle = parseCertificateBundle(base64(rewrapped(BODY, undefined, '', '')));

    expect(bundle.certificates).toEqual([]);
    expect(bundle.problem).toMatch(/certificate 1 is not valid X\.509/);
  });
});

// An admission webhook whose answers a test scripts: for exercising the fake API server's admission (denials,
// malformed responses, reinvocation, several webhooks in a row) and as a stand-in for webhooks such as the AWS
// Load Balancer Controller's, which a snapshot's configurations reference but no test runs.

import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { ServingCertificate } from './certificates';
import type { KubeObject } from './resources';

/** What the webhook answers to one request: an HTTP status (default 200), a body, an optional delay. */
export interface ScriptedWebhookReply {
  readonly status?: number;
  /** JSON-serialized unless it is a string. */
  readonly body: unknown;
  readonly delayMs?: number;
}

/** Decides the reply to one AdmissionReview (the parsed request body). */
export type ScriptedResponder = (review: Readonly<Record<string, unknown>>) => ScriptedWebhookReply;

/** A running scripted webhook; every test that starts one must `stop()` it. */
export interface ScriptedWebhook {
  /** `https://127.0.0.1:<port>/` (any path is answered). */
  readonly url: string;
  /** Every AdmissionReview received, oldest first (a live view). */
  readonly reviews: readonly Readonly<Record<string, unknown>>[];
  /** Replaces the responder. */
  setResponder(respond: ScriptedResponder): void;
  stop(): Promise<void>;
}

function requestOf(review: Readonly<Record<string, unknown>>): Readonly<Record<string, unknown>> {
  const request = review.request;
  return typeof request === 'object' && request !== null ? (request as Record<string, unknown>) : {};
}

/** An AdmissionReview answer that admits the pod, applying `patch` (JSON Patch operations) when given. */
export function admissionAnswer(
  review: Readonly<Record<string, unknown>>,
  patch?: readonly unknown[],
): ScriptedWebhookReply {
  return {
    body: {
      apiVersion: review.apiVersion,
      kind: 'AdmissionReview',
      response: {
        uid: requestOf(review).uid,
        allowed: true,
        ...(patch === undefined
          ? {}
          : { patchType: 'JSONPatch', patch: Buffer.from(JSON.stringify(patch)).toString('base64') }),
      },
    },
  };
}

/** An AdmissionReview answer that denies the pod with a message and code. */
export function denialAnswer(
  review: Readonly<Record<string, unknown>>,
  message: string,
  code = 403,
): ScriptedWebhookReply {
  return {
    body: {
      apiVersion: review.apiVersion,
      kind: 'AdmissionReview',
      response: { uid: requestOf(review).uid, allowed: false, result: { message, code } },
    },
  };
}

/** A copy of a MutatingWebhookConfiguration whose every webhook trusts `caBundle` (e.g. the fake cluster's caData). */
export function withCaBundle(configuration: KubeObject, caBundle: string): KubeObject {
  const webhooks = Array.isArray(configuration.webhooks)
    ? (configuration.webhooks as Record<string, unknown>[])
    : [];
  return {
    ...configuration,
    webhooks: webhooks.map((webhook) => ({
      ...webhook,
      clientConfig: { ...(webhook.clientConfig as Record<string, unknown> | undefined), caBundle },
    })),
  };
}

/** Starts a scripted webhook on 127.0.0.1 serving `certificate`; by default it admits every pod unchanged. */
export async function startScriptedWebhook(options: {
  readonly certificate: ServingCertificate;
  readonly respond?: ScriptedResponder;
}): Promise<ScriptedWebhook> {
  const reviews: Readonly<Record<string, unknown>>[] = [];
  let respond: ScriptedResponder = options.respond ?? ((review) => admissionAnswer(review));
  const server: Server = createServer(
    { key: options.certificate.keyPem, cert: options.certificate.certificatePem },
    (request, response) => {
      const chunks: Buffer[] = [];
      request.on('data', (chunk: Buffer) => chunks.push(chunk));
      request.on('end', () => {
        let review: Readonly<Record<string, unknown>> = {};
        try {
          review = JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>;
        } catch {
          // Left empty: the responder sees a review without a request.
        }
        reviews.push(review);
        const reply = respond(review);
        const text = typeof reply.body === 'string' ? reply.body : JSON.stringify(reply.body);
        setTimeout(() => {
          if (response.destroyed) return;
          response.writeHead(reply.status ?? 200, {
            'content-type': typeof reply.body === 'string' ? 'text/plain; charset=utf-8' : 'application/json',
            'content-length': Buffer.byteLength(text),
          });
          response.end(text);
        }, reply.delayMs ?? 0);
      });
    },
  );
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `https://127.0.0.1:${port}/`,
    reviews,
    setResponder: (next) => {
      respond = next;
    },
    stop: () =>
      new Promise<void>((resolve, reject) => {
        server.close((error) => (error === undefined ? resolve() : reject(error)));
        server.closeAllConnections();
      }),
  };
}

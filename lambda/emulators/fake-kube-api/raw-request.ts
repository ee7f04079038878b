// A bare HTTPS request to the fake API server (trusting its CA), for tests of the server itself: what it
// answers, status and body, without a Kubernetes client in between.

import { request } from 'node:https';

/** The status and parsed JSON body (or text, when not JSON) of an answer. */
export interface RawAnswer {
  readonly status: number;
  readonly body: Record<string, unknown>;
  readonly text: string;
}

/** Sends `method path` with an optional JSON body; the bearer token defaults to the server's own. */
export function rawRequest(
  server: { readonly url: string; readonly caData: string; readonly token: string },
  method: string,
  path: string,
  options: { readonly body?: unknown; readonly token?: string | null; readonly contentType?: string } = {},
): Promise<RawAnswer> {
  const payload =
    options.body === undefined
      ? undefined
      : typeof options.body === 'string'
        ? options.body
        : JSON.stringify(options.body);
  const token = options.token === undefined ? server.token : options.token;
  return new Promise((resolve, reject) => {
    const outgoing = request(
      `${server.url}${path}`,
      {
        method,
        ca: Buffer.from(server.caData, 'base64'),
        headers: {
          ...(token === null ? {} : { authorization: `Bearer ${token}` }),
          ...(payload === undefined
            ? {}
            : {
                'content-type': options.contentType ?? 'application/json',
                'content-length': Buffer.byteLength(payload),
              }),
        },
      },
      (response) => {
        let text = '';
        response.setEncoding('utf8');
        response.on('data', (chunk: string) => {
          text += chunk;
        });
        response.on('end', () => {
          let body: Record<string, unknown> = {};
          try {
            body = JSON.parse(text) as Record<string, unknown>;
          } catch {
            // Not JSON (a health answer): `text` has it.
          }
          resolve({ status: response.statusCode ?? 0, body, text });
        });
      },
    );
    outgoing.on('error', reject);
    outgoing.end(payload);
  });
}

// One JSON request to a Kubernetes API server (real or fake) over HTTPS, trusting only its CA: what the
// real-server tests and the differential test use to create objects the way a controller would.

import { Agent, request } from 'node:https';

export interface KubeServer {
  readonly url: string;
  /** PEM of the CA that signed the server's certificate. */
  readonly caPem: string;
  /** A bearer token the server accepts; empty: no Authorization header (an anonymous request). */
  readonly token: string;
}

export interface ApiAnswer {
  readonly status: number;
  readonly body: Record<string, unknown>;
}

/** Resolves with the status and the parsed body (`{ text }` when the body is not JSON). */
export function kubeCall(
  server: KubeServer,
  method: string,
  path: string,
  body?: unknown,
  contentType = 'application/json',
): Promise<ApiAnswer> {
  const agent = new Agent({ ca: server.caPem });
  return new Promise((resolve, reject) => {
    const req = request(
      `${server.url}${path}`,
      {
        method,
        agent,
        headers: {
          ...(server.token === '' ? {} : { authorization: `Bearer ${server.token}` }),
          'content-type': contentType,
        },
      },
      (res) => {
        let text = '';
        res.on('data', (chunk: Buffer) => {
          text += chunk.toString();
        });
        res.on('end', () => {
          agent.destroy();
          let parsed: Record<string, unknown>;
          try {
            parsed = JSON.parse(text) as Record<string, unknown>;
          } catch {
            parsed = { text };
          }
          resolve({ status: res.statusCode ?? 0, body: parsed });
        });
      },
    );
    req.on('error', (error) => {
      agent.destroy();
      reject(error);
    });
    req.end(body === undefined ? undefined : JSON.stringify(body));
  });
}

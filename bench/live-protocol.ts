// What bench/live.ts (and bench/clusters.ts, bench/organization.ts) and the servers' process
// (bench/live-servers.ts) share: the size of a run, the IPC messages and waiting for one of them, the page sizes
// the lower bounds count in, and how a request count is printed against its bound.

import type { ChildProcess } from 'node:child_process';

/** The size and latency of one live benchmark run. */
export interface LiveBenchSize {
  readonly pods: number;
  readonly serviceAccounts: number;
  readonly rolesUsed: number;
  readonly accountRoles: number;
  readonly latencyMs: number;
}

/** The servers are up and seeded; the audit goes to `endpoint` (AWS) and finds Kubernetes through DescribeCluster. */
export interface ReadyMessage {
  readonly kind: 'ready';
  readonly endpoint: string;
  readonly seedMs: number;
}

/** What the servers answered since `ready`, and what they hold. */
export interface CountsMessage {
  readonly kind: 'counts';
  /** Kubernetes list requests and stored objects per resource type. */
  readonly kube: Readonly<Record<string, { readonly requests: number; readonly objects: number }>>;
  /** AWS requests per operation, as the proxy saw them. */
  readonly aws: Readonly<Record<string, number>>;
  /** Distinct role ARNs the ServiceAccounts name. */
  readonly distinctRoles: number;
}

/** A number from the environment (BENCH_PODS=...), or the fallback when it is unset or empty. */
export function envNumber(name: string, fallback: number): number {
  const value = process.env[name];
  return value === undefined || value === '' ? fallback : Number(value);
}

/** The EKS cluster and region the servers model. */
export const CLUSTER = 'bench';
export const REGION = 'eu-west-1';

/** The next message of a kind from the servers' process; rejects if it exits first. */
export function nextMessage<T extends { kind: string }>(child: ChildProcess, kind: T['kind']): Promise<T> {
  return new Promise((resolve, reject) => {
    const onMessage = (message: { kind?: string }) => {
      if (message.kind !== kind) return;
      child.off('message', onMessage);
      child.off('exit', onExit);
      resolve(message as T);
    };
    const onExit = (code: number | null) => reject(new Error(`bench/live-servers.ts exited (code ${code})`));
    child.on('message', onMessage);
    child.once('exit', onExit);
  });
}

/** What a page of the audit's lists holds: Kubernetes `limit` and IAM ListRoles `MaxItems`. */
export const KUBE_PAGE = 500;
export const LIST_ROLES_PAGE = 1000;

/** One API's requests against its lower bound, as the benches print it; over `within` × the bound is OVER. */
export function requestLine(api: string, requests: number, lowerBound: number, within: number): string {
  const verdict =
    requests <= within * lowerBound ? 'ok' : `OVER (${(requests / Math.max(1, lowerBound)).toFixed(2)}×)`;
  return `  ${api.padEnd(40)} ${String(requests).padStart(6)}  bound ${String(lowerBound).padStart(5)}  ${verdict}`;
}

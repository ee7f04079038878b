// The live webhook probe (IRSA-W07): a server-side dry-run create of a minimal pod with an IRSA
// ServiceAccount, in a few namespaces. The API server runs admission, webhooks included, and returns the
// pod as it would be stored; nothing is stored. Static checks read the configuration; this proves it works.

import type { KubeConfig } from '@kubernetes/client-node';
import { errorText } from '../../core/error-text';
import type { CollectionError, WebhookProbe } from '../../core/model/cluster-state';
import { ShapeError } from '../parse/json-shape';
import { parsePod } from '../parse/kubernetes-objects';
import { createPod, KubeApiError } from './list-resources';

const TOKEN_DIRECTORY = '/var/run/secrets/eks.amazonaws.com/serviceaccount';
const PROBE_CONTAINER = 'irsa-audit-probe';
/** Namespaces probed per cluster unless configured: one dry-run create each. */
export const DEFAULT_PROBE_NAMESPACES = 5;

/** A ServiceAccount that can be probed: annotated with a role. */
export interface ProbeCandidate {
  readonly namespace: string;
  readonly name: string;
  readonly roleArn: string;
}

export interface ProbeOptions {
  readonly maxNamespaces?: number;
  readonly timeoutMs?: number;
}

export interface ProbeResult {
  readonly probes: readonly WebhookProbe[];
  /** The probe could not run (403 on create: the RBAC it needs is missing); IRSA-X02. */
  readonly error?: CollectionError;
}

/** The pod the probe asks the API server to admit: as small as a pod can be, never scheduled. */
export function probePod(candidate: ProbeCandidate): unknown {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      generateName: 'irsa-audit-probe-',
      namespace: candidate.namespace,
      labels: {
        'app.kubernetes.io/name': 'irsa-audit-probe',
        'app.kubernetes.io/managed-by': 'irsa-auditor',
      },
    },
    spec: {
      serviceAccountName: candidate.name,
      restartPolicy: 'Never',
      containers: [{ name: PROBE_CONTAINER, image: 'public.ecr.aws/docker/library/busybox:stable' }],
    },
  };
}

/** Dry-run creates one probe pod per namespace (the first annotated ServiceAccount of each, in order). */
export async function probeWebhook(
  config: KubeConfig,
  candidates: readonly ProbeCandidate[],
  options: ProbeOptions = {},
): Promise<ProbeResult> {
  const perNamespace = new Map<string, ProbeCandidate>();
  for (const candidate of [...candidates].sort(byNamespaceThenName)) {
    if (!perNamespace.has(candidate.namespace)) perNamespace.set(candidate.namespace, candidate);
  }
  const chosen = [...perNamespace.values()].slice(0, options.maxNamespaces ?? DEFAULT_PROBE_NAMESPACES);
  const probes: WebhookProbe[] = [];
  for (const candidate of chosen) {
    const base = {
      namespace: candidate.namespace,
      serviceAccount: candidate.name,
      roleArn: candidate.roleArn,
    };
    let returned: unknown;
    try {
      returned = await createPod(config, candidate.namespace, probePod(candidate), {
        dryRun: true,
        ...(options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs }),
      });
    } catch (error) {
      if (
        error instanceof KubeApiError &&
        (error.reason === 'forbidden' || error.reason === 'unauthorized')
      ) {
        return {
          probes,
          error: {
            resource: 'webhookProbes',
            reason: error.reason,
            message: `${error.message} (the probe needs create on pods; a dry run is authorized like a real create)`,
          },
        };
      }
      // failurePolicy Fail with a broken webhook: the API server refuses every pod. That is the finding.
      probes.push({ ...base, outcome: 'rejected', missing: [], detail: errorText(error) });
      continue;
    }
    const missing = missingInjection(returned, candidate.roleArn);
    probes.push({ ...base, outcome: missing.length === 0 ? 'mutated' : 'not-mutated', missing });
  }
  return { probes };
}

/** What the webhook should have added to the probe pod but did not (IRSA, or Pod Identity instead). */
export function missingInjection(returned: unknown, roleArn: string): string[] {
  let pod: ReturnType<typeof parsePod>;
  try {
    pod = parsePod(returned, '$');
  } catch (error) {
    return [
      `a readable pod in the response (${error instanceof ShapeError ? error.message : errorText(error)})`,
    ];
  }
  const container =
    pod.containers.find((candidate) => candidate.name === PROBE_CONTAINER) ?? pod.containers[0];
  const env = new Map((container?.env ?? []).map((variable) => [variable.name, variable.value]));
  // With an EKS Pod Identity association the webhook injects Pod Identity instead of IRSA: that is mutated too.
  if (env.has('AWS_CONTAINER_CREDENTIALS_FULL_URI')) return [];
  const missing: string[] = [];
  if (env.get('AWS_ROLE_ARN') !== roleArn) {
    missing.push(
      env.has('AWS_ROLE_ARN')
        ? `env AWS_ROLE_ARN=${roleArn} (found ${env.get('AWS_ROLE_ARN')})`
        : 'env AWS_ROLE_ARN',
    );
  }
  if (!env.has('AWS_WEB_IDENTITY_TOKEN_FILE')) missing.push('env AWS_WEB_IDENTITY_TOKEN_FILE');
  if (!pod.tokenVolumes.some((volume) => volume.volumeName === 'aws-iam-token'))
    missing.push('volume aws-iam-token');
  if (!(container?.volumeMounts ?? []).some((mount) => mount.mountPath === TOKEN_DIRECTORY)) {
    missing.push(`volume mount at ${TOKEN_DIRECTORY}`);
  }
  return missing;
}

function byNamespaceThenName(a: ProbeCandidate, b: ProbeCandidate): number {
  return a.namespace === b.namespace ? (a.name < b.name ? -1 : 1) : a.namespace < b.namespace ? -1 : 1;
}

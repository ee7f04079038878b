// The irsa-audit command (SPEC §6). Exit codes: 0 clean, 1 findings at or above --fail-on, 2 usage or input error.

import { parseArgs } from 'node:util';
import type { AwsCredentialIdentity, AwsCredentialIdentityProvider } from '@smithy/types';
import { DEFAULT_WEBHOOK_NAME } from '../core/analysis/eks-conventions';
import { CHECKS } from '../core/checks/registry';
import { errorText } from '../core/error-text';
import { type AuditReport, isSeverity, type Severity, severityRank } from '../core/model/finding';
import { FORMATS, type Format, renderReport } from '../core/report/render';
import { type ClusterSource, runAudit } from '../pipeline/run-audit';
import { loadSnapshot, SnapshotError } from '../sources/snapshot/snapshot';
import { SnapshotWriteError, SnapshotWriter } from '../sources/snapshot/write-snapshot';

export const EXIT_OK = 0;
export const EXIT_FINDINGS = 1;
export const EXIT_USAGE = 2;

/** A command line that cannot be run as written; shown as one line, exit 2. */
export class UsageError extends Error {
  override name = 'UsageError';
}

export interface CliIo {
  readonly stdout: (text: string) => void;
  readonly stderr: (text: string) => void;
  readonly stdoutIsTty: boolean;
  /** Progress (cluster, pages fetched) is shown only on a terminal. */
  readonly stderrIsTty?: boolean;
  readonly now: () => Date;
  readonly examplesDirectory: string;
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** AWS credentials; the default credential chain when absent. */
  readonly credentials?: AwsCredentialIdentity | AwsCredentialIdentityProvider;
}

const USAGE = `Usage:
  irsa-audit audit --snapshot DIR                    audit an offline snapshot (the files of a capture)
  irsa-audit audit --cluster NAME [--region R]       audit a live EKS cluster (default AWS credential chain)
  irsa-audit audit --kubeconfig [PATH] [--context C] audit the cluster of a kubeconfig context (AWS via the default chain)
  irsa-audit snapshot --cluster NAME --out DIR       capture a snapshot of a live cluster
  irsa-audit demo                                    the scheduled audit against local emulators seeded with examples/blog-incident
  irsa-audit checks                                  list the checks

Options:
  --format table|json|markdown|sarif|junit
                                       output format (default: table); sarif: SARIF 2.1.0 for code scanning,
                                       junit: a test case per check, failing at or above --fail-on
  --fail-on critical|high|medium|low|info|none
                                       exit 1 when a finding is at or above this severity (default: high)
  --namespace NS                       audit only this namespace (repeatable)
  --webhook-name NAME                  the pod identity webhook entry (default: ${DEFAULT_WEBHOOK_NAME})
  --region R                           the cluster's region (default: AWS_REGION or AWS_DEFAULT_REGION)
  --endpoint-url URL                   send every AWS call to URL (for emulators)
  --probe                              live only: dry-run create a pod per namespace with IRSA ServiceAccounts
                                       to prove the webhook mutates pods now (IRSA-W07; needs create on pods)
  -h, --help                           show this help
`;

/** Runs the CLI; never throws: every failure is a line on stderr and an exit code. */
export async function main(argv: readonly string[], io: CliIo): Promise<number> {
  try {
    return await run(argv, io);
  } catch (error) {
    if (error instanceof UsageError) {
      io.stderr(`irsa-audit: ${error.message}\nRun "irsa-audit --help" for usage.\n`);
      return EXIT_USAGE;
    }
    if (error instanceof SnapshotError || error instanceof SnapshotWriteError) {
      io.stderr(`irsa-audit: ${error.message}\n`);
      return EXIT_USAGE;
    }
    io.stderr(`irsa-audit: unexpected error: ${errorText(error)}\n`);
    return EXIT_USAGE;
  }
}

type Values = ReturnType<typeof parseCommandLine>['values'];

async function run(argv: readonly string[], io: CliIo): Promise<number> {
  const { command, values } = parseCommandLine(argv);
  if (values.help === true || command === undefined) {
    io.stdout(USAGE);
    return command === undefined && values.help !== true ? EXIT_USAGE : EXIT_OK;
  }
  const format = parseFormat(values.format);
  const failOn = parseFailOn(values['fail-on']);
  const options = {
    now: io.now(),
    webhookName: values['webhook-name'] ?? DEFAULT_WEBHOOK_NAME,
    namespaces: values.namespace ?? [],
  };
  const print = (report: AuditReport) =>
    io.stdout(renderReport(report, format, format === 'table' && io.stdoutIsTty, failOn));
  switch (command) {
    case 'audit': {
      const report = await runAudit([await auditSource(values, io)], options);
      print(report);
      return exitCodeFor(report, failOn);
    }
    case 'snapshot':
      return captureSnapshot(values, io);
    case 'demo': {
      // The Lambda's code path against emulators it starts (offline audit without moto_server): `npm run demo`.
      const { runDemo } = await import('./demo');
      return runDemo({
        stdout: io.stdout,
        stderr: io.stderr,
        colour: io.stdoutIsTty,
        examplesDirectory: io.examplesDirectory,
        ...(io.env?.PATH === undefined ? {} : { searchPath: io.env.PATH }),
      });
    }
    case 'checks': {
      io.stdout(
        `${CHECKS.map((check) => `${check.id}  ${check.severity.padEnd(8)}  ${check.title}`).join('\n')}\n`,
      );
      return EXIT_OK;
    }
    default:
      throw new UsageError(`unknown command "${command}"`);
  }
}

/** The one source `audit` reads: a snapshot directory, an EKS cluster, or a kubeconfig context. */
async function auditSource(values: Values, io: CliIo): Promise<ClusterSource> {
  const modes = [values.snapshot, values.cluster ?? values.kubeconfig].filter((value) => value !== undefined);
  if (modes.length !== 1) {
    throw new UsageError('audit needs exactly one of --snapshot DIR, --cluster NAME or --kubeconfig [PATH]');
  }
  if (values.snapshot !== undefined) {
    if (values.probe === true)
      throw new UsageError('--probe needs a live cluster (--cluster or --kubeconfig)');
    const directory = values.snapshot;
    return { label: directory, collect: () => loadSnapshot(directory) };
  }
  const { liveClusterSource } = await liveSources();
  return liveClusterSource(await liveOptions(values, io));
}

// Loaded on demand: the AWS SDK and the Kubernetes client are not needed to audit a snapshot.
const liveSources = () => import('../sources/live/live-source');

async function captureSnapshot(values: Values, io: CliIo): Promise<number> {
  if (values.out === undefined) throw new UsageError('snapshot needs --out DIR');
  if (values.cluster === undefined && values.kubeconfig === undefined) {
    throw new UsageError('snapshot needs --cluster NAME (or --kubeconfig [PATH])');
  }
  const { liveClusterSource } = await liveSources();
  const options = await liveOptions(values, io);
  const snapshot = await SnapshotWriter.create(values.out);
  const state = await liveClusterSource({ ...options, snapshot }).collect();
  const counts = `${state.serviceAccounts.length} ServiceAccounts, ${state.pods.length} pods, ${state.roles.length} roles`;
  if (state.collectionErrors.length === 0) {
    io.stderr(`irsa-audit: wrote snapshot of ${state.cluster.name} to ${values.out} (${counts})\n`);
    return EXIT_OK;
  }
  for (const error of state.collectionErrors) {
    io.stderr(`irsa-audit: ${error.resource} could not be read (${error.reason}): ${error.message}\n`);
  }
  io.stderr(`irsa-audit: wrote a PARTIAL snapshot of ${state.cluster.name} to ${values.out} (${counts})\n`);
  return EXIT_FINDINGS;
}

async function liveOptions(values: Values, io: CliIo) {
  const env = io.env ?? {};
  const kubeconfig =
    values.kubeconfig === undefined
      ? undefined
      : {
          ...(values.kubeconfig === '' ? {} : { path: values.kubeconfig }),
          ...(values.context === undefined ? {} : { context: values.context }),
        };
  const fromKubeconfig =
    kubeconfig === undefined || values.cluster !== undefined
      ? undefined
      : (await liveSources()).eksClusterOfKubeconfig(kubeconfig.path, kubeconfig.context);
  const clusterName = values.cluster ?? fromKubeconfig?.name;
  if (clusterName === undefined) {
    throw new UsageError(
      'the kubeconfig context does not name an EKS cluster by ARN; add --cluster NAME for the AWS side',
    );
  }
  const region = values.region ?? fromKubeconfig?.region ?? env.AWS_REGION ?? env.AWS_DEFAULT_REGION;
  if (region === undefined || region === '') {
    throw new UsageError('the region is unknown: pass --region or set AWS_REGION');
  }
  const progress =
    io.stderrIsTty === true ? (message: string) => io.stderr(`\u001b[2K\r${message}`) : undefined;
  return {
    clusterName,
    region,
    ...(values['endpoint-url'] === undefined ? {} : { endpoint: values['endpoint-url'] }),
    ...(kubeconfig === undefined ? {} : { kubeconfig }),
    ...(values.namespace === undefined ? {} : { namespaces: values.namespace }),
    ...(io.credentials === undefined ? {} : { credentials: io.credentials }),
    ...(progress === undefined ? {} : { onProgress: progress }),
    ...(values.probe === true ? { probe: true } : {}),
  };
}

// `--kubeconfig` may stand alone (the default kubeconfig); parseArgs needs a value, so give it ''.
function withKubeconfigValue(argv: readonly string[]): string[] {
  return argv.flatMap((arg, index) =>
    arg === '--kubeconfig' && (argv[index + 1] === undefined || argv[index + 1]?.startsWith('-') === true)
      ? ['--kubeconfig=']
      : [arg],
  );
}

function parseCommandLine(argv: readonly string[]) {
  try {
    const { positionals, values } = parseArgs({
      args: withKubeconfigValue(argv),
      allowPositionals: true,
      strict: true,
      options: {
        snapshot: { type: 'string' },
        cluster: { type: 'string' },
        kubeconfig: { type: 'string' },
        context: { type: 'string' },
        region: { type: 'string' },
        out: { type: 'string' },
        'endpoint-url': { type: 'string' },
        format: { type: 'string' },
        'fail-on': { type: 'string' },
        namespace: { type: 'string', multiple: true },
        'webhook-name': { type: 'string' },
        probe: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    });
    if (positionals.length > 1) throw new UsageError(`unexpected argument "${positionals[1]}"`);
    return { command: positionals[0], values };
  } catch (error) {
    if (error instanceof UsageError) throw error;
    // parseArgs errors are already one readable sentence ("Unknown option '--x'").
    throw new UsageError(error instanceof Error ? error.message : String(error));
  }
}

function parseFormat(value: string | undefined): Format {
  if (value === undefined) return 'table';
  if ((FORMATS as readonly string[]).includes(value)) return value as Format;
  throw new UsageError(`--format must be one of ${FORMATS.join(', ')}, not "${value}"`);
}

function parseFailOn(value: string | undefined): Severity | 'none' {
  if (value === undefined) return 'high';
  if (value === 'none' || isSeverity(value)) return value;
  throw new UsageError(`--fail-on must be critical, high, medium, low, info or none, not "${value}"`);
}

/** 1 when any finding is at or above the threshold. */
export function exitCodeFor(report: AuditReport, failOn: Severity | 'none'): number {
  if (failOn === 'none') return EXIT_OK;
  const threshold = severityRank(failOn);
  const failing = report.clusters.some((cluster) =>
    cluster.findings.some((finding) => severityRank(finding.severity) <= threshold),
  );
  return failing ? EXIT_FINDINGS : EXIT_OK;
}

// The irsa-audit command (SPEC §6). Exit codes: 0 clean, 1 findings at or above --fail-on, 2 usage or input error.

import { parseArgs } from 'node:util';
import { runAudit } from './audit';
import { DEFAULT_WEBHOOK_NAME } from './checks/eks-conventions';
import { CHECKS } from './checks/registry';
import { type AuditReport, isSeverity, type Severity, severityRank } from './model/finding';
import { FORMATS, type Format, renderReport } from './report/render';
import { loadSnapshot, SnapshotError } from './sources/snapshot/snapshot';

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
  readonly now: () => Date;
  readonly examplesDirectory: string;
}

const USAGE = `Usage:
  irsa-audit audit --snapshot DIR      audit an offline snapshot (SPEC §3 files)
  irsa-audit demo                      audit the shipped example (examples/blog-incident)
  irsa-audit checks                    list the checks

Options:
  --format table|json|markdown         output format (default: table)
  --fail-on critical|high|medium|low|info|none
                                       exit 1 when a finding is at or above this severity (default: high)
  --namespace NS                       audit only this namespace (repeatable)
  --webhook-name NAME                  the pod identity webhook entry (default: ${DEFAULT_WEBHOOK_NAME})
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
    if (error instanceof SnapshotError) {
      io.stderr(`irsa-audit: ${error.message}\n`);
      return EXIT_USAGE;
    }
    io.stderr(`irsa-audit: unexpected error: ${error instanceof Error ? error.message : String(error)}\n`);
    return EXIT_USAGE;
  }
}

async function run(argv: readonly string[], io: CliIo): Promise<number> {
  const parsed = parseCommandLine(argv);
  const { command, values } = parsed;
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
  switch (command) {
    case 'audit': {
      if (values.snapshot === undefined) {
        throw new UsageError('audit needs --snapshot DIR (live audits with --cluster are not available yet)');
      }
      const directory = values.snapshot;
      const report = await runAudit([{ label: directory, collect: () => loadSnapshot(directory) }], options);
      io.stdout(renderReport(report, format, format === 'table' && io.stdoutIsTty));
      return exitCodeFor(report, failOn);
    }
    case 'demo': {
      const directory = `${io.examplesDirectory}/blog-incident`;
      io.stderr(`irsa-audit demo: auditing the shipped example snapshot ${directory}\n`);
      const report = await runAudit([{ label: directory, collect: () => loadSnapshot(directory) }], options);
      io.stdout(renderReport(report, format, format === 'table' && io.stdoutIsTty));
      return EXIT_OK;
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

function parseCommandLine(argv: readonly string[]) {
  try {
    const { positionals, values } = parseArgs({
      args: [...argv],
      allowPositionals: true,
      strict: true,
      options: {
        snapshot: { type: 'string' },
        format: { type: 'string' },
        'fail-on': { type: 'string' },
        namespace: { type: 'string', multiple: true },
        'webhook-name': { type: 'string' },
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

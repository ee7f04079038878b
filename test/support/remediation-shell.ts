// Runs a finding's remediation command in bash, as the user would paste it, so a test can show that it fixes
// what it reports. `kubectl` is replaced by a recorder: the fake API server has no PATCH, so the test applies
// what kubectl was asked to do itself. The rest (`$(aws eks describe-cluster …)`) runs for real.

import { execFile } from 'node:child_process';
import { chmod, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';

/** A tool the remediation needs is missing; the message says how to install it. */
export class RemediationToolMissingError extends Error {
  constructor(readonly tool: string) {
    super(
      tool === 'aws'
        ? 'The aws CLI is not installed, and the remediation runs `aws eks describe-cluster`: install it (pip install awscli, or https://docs.aws.amazon.com/cli/latest/userguide/getting-started-install.html).'
        : `${tool} is not installed, and the remediation runs in it: install it (apt-get install ${tool}).`,
    );
    this.name = 'RemediationToolMissingError';
  }
}

/** The outcome of one remediation command: bash's status and output, and the argv of every kubectl call. */
export interface RemediationRun {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
  /** The arguments of each kubectl invocation, after the shell expanded them, oldest first. */
  readonly kubectlCalls: readonly (readonly string[])[];
}

// Records its arguments NUL-separated, one file per call, and succeeds.
const KUBECTL_RECORDER = `#!/usr/bin/env bash
count=$(ls "$KUBECTL_RECORD_DIR" | wc -l)
printf '%s\\0' "$@" > "$KUBECTL_RECORD_DIR/call-$((count + 1))"
`;

/** Runs `command` with `bash -c` and `env` over this environment (AWS_* removed), with `kubectl` recorded. */
export async function runRemediationCommand(
  command: string,
  env: Readonly<Record<string, string>>,
  requiredTools: readonly string[] = [],
): Promise<RemediationRun> {
  for (const tool of ['bash', ...requiredTools]) {
    if (!(await onPath(tool))) throw new RemediationToolMissingError(tool);
  }
  const directory = await mkdtemp(join(tmpdir(), 'remediation-'));
  try {
    const bin = join(directory, 'bin');
    const records = join(directory, 'records');
    await Promise.all([mkdir(bin), mkdir(records)]);
    await writeFile(join(bin, 'kubectl'), KUBECTL_RECORDER);
    await chmod(join(bin, 'kubectl'), 0o755);
    const result = await new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
      execFile(
        'bash',
        ['-c', command],
        {
          env: {
            ...withoutAwsSettings(process.env),
            ...env,
            PATH: `${bin}${delimiter}${process.env.PATH ?? ''}`,
            KUBECTL_RECORD_DIR: records,
          },
        },
        (error, stdout, stderr) => {
          const code = error === null ? 0 : typeof error.code === 'number' ? error.code : 1;
          resolve({ code, stdout, stderr });
        },
      );
    });
    const files = (await readdir(records)).sort(
      (a, b) => Number(a.slice('call-'.length)) - Number(b.slice('call-'.length)),
    );
    const kubectlCalls = await Promise.all(
      files.map(async (file) => (await readFile(join(records, file), 'utf8')).split('\0').slice(0, -1)),
    );
    return { ...result, kubectlCalls };
  } finally {
    await rm(directory, { recursive: true, force: true });
  }
}

function onPath(tool: string): Promise<boolean> {
  return new Promise((resolve) => {
    execFile('bash', ['-c', `command -v ${tool}`], (error) => resolve(error === null));
  });
}

/** The environment without AWS_* variables: the machine's profile or region must not redirect a command. */
export function withoutAwsSettings(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(env).filter(([name]) => !name.startsWith('AWS_')));
}

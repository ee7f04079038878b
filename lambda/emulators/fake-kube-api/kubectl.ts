// Runs the real kubectl against a kubeconfig, asynchronously: the fake API server answers from the same
// process, so a synchronous child process would starve it.

import { execFile } from 'node:child_process';

/** kubectl's exit status and output. */
export interface KubectlResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** kubectl is not installed: the message says how to install it, so the test fails usefully. */
export class KubectlMissingError extends Error {
  constructor() {
    super(
      'kubectl is not installed, and the fake API server is checked against it: install it from https://kubernetes.io/docs/tasks/tools/ (for example `curl -LO https://dl.k8s.io/release/v1.32.4/bin/linux/amd64/kubectl && install kubectl /usr/local/bin/`).',
    );
    this.name = 'KubectlMissingError';
  }
}

/** Runs `kubectl --kubeconfig <kubeconfig> --cache-dir <cacheDirectory> ...args`; never throws for a non-zero exit. */
export function kubectl(
  args: readonly string[],
  { kubeconfig, cacheDirectory }: { readonly kubeconfig: string; readonly cacheDirectory: string },
): Promise<KubectlResult> {
  return new Promise((resolve, reject) => {
    execFile(
      'kubectl',
      ['--kubeconfig', kubeconfig, '--cache-dir', cacheDirectory, ...args],
      // A separate HOME keeps kubectl from reading or writing the user's own ~/.kube.
      { env: { ...process.env, HOME: cacheDirectory, KUBECONFIG: '' }, maxBuffer: 64 * 1024 * 1024 },
      (error, stdout, stderr) => {
        if ((error as NodeJS.ErrnoException | null)?.code === 'ENOENT') {
          reject(new KubectlMissingError());
          return;
        }
        const code = error === null ? 0 : typeof error.code === 'number' ? error.code : 1;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

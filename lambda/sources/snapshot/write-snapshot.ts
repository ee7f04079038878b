// Writes a §3 snapshot as it is collected: Kubernetes lists are streamed item by item, so capturing a
// large cluster never holds all its pods in memory, and the files read back exactly like hand-captured ones.

import { createWriteStream, type WriteStream } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { KUBERNETES_RESOURCES } from '../../core/model/cluster-state';
import { LIST_PARTS, type ListPart } from '../assemble-state';
import { SNAPSHOT_FILES } from './snapshot';

const KUBERNETES_PARTS: ReadonlySet<ListPart> = new Set<ListPart>(KUBERNETES_RESOURCES);

/** A file being written could not be; names the file. */
export class SnapshotWriteError extends Error {
  override name = 'SnapshotWriteError';
}

/** One list file being streamed. */
export interface ListFileWriter {
  add(items: readonly unknown[]): Promise<void>;
  /** Starts the file over (the list was restarted after 410 Gone). */
  restart(): Promise<void>;
  close(): Promise<void>;
}

/** Writes the files of one snapshot directory. */
export class SnapshotWriter {
  private constructor(readonly directory: string) {}

  static async create(directory: string): Promise<SnapshotWriter> {
    await mkdir(directory, { recursive: true });
    return new SnapshotWriter(directory);
  }

  /** `cluster.json` as `aws eks describe-cluster` prints it. */
  async writeCluster(cluster: unknown): Promise<void> {
    await this.writeJson(SNAPSHOT_FILES.cluster.file, { cluster });
  }

  /** `account-summary.json` as `aws iam get-account-summary` prints it. */
  async writeAccountSummary(summary: unknown): Promise<void> {
    await this.writeJson(SNAPSHOT_FILES.accountSummary.file, summary);
  }

  /** `pod-identity-agent-addon.json` as `aws eks describe-addon` prints it (`{"addon": null}` when absent). */
  async writeAgentAddon(addon: unknown): Promise<void> {
    await this.writeJson(SNAPSHOT_FILES.podIdentityAgentAddon.file, addon);
  }

  /** A whole list file at once (AWS lists are small). */
  async writeList(part: ListPart, items: readonly unknown[]): Promise<void> {
    const writer = this.openList(part);
    await writer.add(items);
    await writer.close();
  }

  /** Streams a list file: a Kubernetes `List` as kubectl prints it, or the AWS CLI's wrapper object. */
  openList(part: ListPart): ListFileWriter {
    const file = SNAPSHOT_FILES[part].file;
    const path = join(this.directory, file);
    const kubernetes = KUBERNETES_PARTS.has(part);
    const head = kubernetes
      ? '{\n    "apiVersion": "v1",\n    "items": ['
      : `{\n    "${LIST_PARTS[part].member}": [`;
    const tail = kubernetes
      ? '\n    ],\n    "kind": "List",\n    "metadata": {\n        "resourceVersion": ""\n    }\n}\n'
      : '\n    ]\n}\n';
    let stream: WriteStream;
    let count = 0;
    const open = () => {
      stream = createWriteStream(path, { encoding: 'utf8' });
      count = 0;
      return write(head);
    };
    const write = (text: string) =>
      new Promise<void>((resolve, reject) => {
        stream.write(text, (error) =>
          error == null ? resolve() : reject(new SnapshotWriteError(`${file}: ${error.message}`)),
        );
      });
    const end = () =>
      new Promise<void>((resolve, reject) => {
        stream.end(() => resolve());
        stream.once('error', (error) => reject(new SnapshotWriteError(`${file}: ${error.message}`)));
      });
    let ready = open();
    return {
      add: async (items) => {
        await ready;
        for (const item of items) {
          await write(`${count === 0 ? '\n' : ',\n'}${indent(JSON.stringify(item, null, 4), 8)}`);
          count += 1;
        }
      },
      restart: async () => {
        await ready;
        await end();
        ready = open();
        await ready;
      },
      close: async () => {
        await ready;
        await write(tail);
        await end();
      },
    };
  }

  private async writeJson(file: string, value: unknown): Promise<void> {
    try {
      await writeFile(join(this.directory, file), `${JSON.stringify(value, null, 4)}\n`);
    } catch (error) {
      throw new SnapshotWriteError(`${file}: ${error instanceof Error ? error.message : String(error)}`);
    }
  }
}

function indent(text: string, spaces: number): string {
  const pad = ' '.repeat(spaces);
  return text
    .split('\n')
    .map((line) => pad + line)
    .join('\n');
}

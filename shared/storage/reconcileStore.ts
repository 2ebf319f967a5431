import type { ContainerClient } from '@azure/storage-blob';
import { blobServiceClient, ensureContainer, statusOf, storageError, type StorageConnection } from './connection';

/** The blob container that keeps reconciliation runs: their checkpoints, intermediate pages and reports. */
export const RECONCILIATIONS_CONTAINER = 'reconciliations';
const LATEST_BLOB = 'latest.json';

export interface StoredBlob<T> {
  value: T;
  etag: string;
}

/**
 * Reconciliation runs in blob storage:
 *   latest.json                      which run is the latest ({ runId }), replaced under an ETag condition
 *   runs/{runId}/state.json          the checkpoint (status, cursor, counts so far), replaced under an ETag condition
 *   runs/{runId}/parts/{name}.json   what a step produced (a page of iPaaS.com customers, a page's results)
 *   runs/{runId}/report.json|.csv    the finished report
 */
export interface ReconcileRunStore {
  readLatest(): Promise<StoredBlob<{ runId: string }> | null>;
  /** Points latest at a run; with `etag` only when unchanged since read, with null only when there is none. False on conflict. */
  writeLatest(runId: string, etag: string | null): Promise<boolean>;
  readState(runId: string): Promise<StoredBlob<unknown> | null>;
  /** Writes a run's checkpoint; with `etag` only when unchanged since read, with null only when absent. Returns the new ETag, or null on conflict. */
  writeState(runId: string, state: unknown, etag: string | null): Promise<string | null>;
  writePart(runId: string, name: string, value: unknown): Promise<void>;
  readPart(runId: string, name: string): Promise<unknown>;
  writeReport(runId: string, json: string, csv: string): Promise<void>;
  /** The finished report's JSON text, or null when the run has none (yet). */
  readReport(runId: string, format: 'json' | 'csv'): Promise<string | null>;
  /** Removes a run's intermediate parts once its report is written. */
  deleteParts(runId: string): Promise<void>;
}

const RUN_ID = /^[A-Za-z0-9-]{1,80}$/u;

function checkRunId(runId: string): string {
  if (!RUN_ID.test(runId)) throw new Error(`Invalid run id ${JSON.stringify(runId.slice(0, 80))}`);
  return runId;
}

function isConflict(error: unknown): boolean {
  const status = statusOf(error);
  return status === 412 || status === 409;
}

async function streamToText(stream: NodeJS.ReadableStream | undefined): Promise<string> {
  if (!stream) return '';
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer));
  return Buffer.concat(chunks).toString('utf8');
}

export class BlobReconcileRunStore implements ReconcileRunStore {
  private readonly container: ContainerClient;

  constructor(storage: StorageConnection, containerName: string = RECONCILIATIONS_CONTAINER) {
    this.container = blobServiceClient(storage).getContainerClient(containerName);
  }

  private async read(name: string, what: string): Promise<{ text: string; etag: string } | null> {
    await ensureContainer(this.container);
    try {
      const response = await this.container.getBlobClient(name).download();
      return { text: await streamToText(response.readableStreamBody), etag: response.etag ?? '' };
    } catch (error) {
      if (statusOf(error) === 404) return null;
      throw storageError(`reading ${what}`, error);
    }
  }

  private async write(name: string, text: string, contentType: string, etag: string | null | undefined, what: string): Promise<string | null> {
    await ensureContainer(this.container);
    const conditions = etag === undefined ? {} : etag === null ? { ifNoneMatch: '*' } : { ifMatch: etag };
    try {
      const response = await this.container
        .getBlockBlobClient(name)
        .upload(text, Buffer.byteLength(text), { blobHTTPHeaders: { blobContentType: contentType }, conditions });
      return response.etag ?? '';
    } catch (error) {
      if (etag !== undefined && isConflict(error)) return null;
      throw storageError(`writing ${what}`, error);
    }
  }

  private async readJson(name: string, what: string): Promise<StoredBlob<unknown> | null> {
    const blob = await this.read(name, what);
    if (!blob) return null;
    try {
      return { value: JSON.parse(blob.text) as unknown, etag: blob.etag };
    } catch {
      throw storageError(`reading ${what}`, new Error(`${name} is not JSON`));
    }
  }

  async readLatest(): Promise<StoredBlob<{ runId: string }> | null> {
    const blob = await this.readJson(LATEST_BLOB, 'the latest reconciliation');
    if (!blob) return null;
    const runId = (blob.value as { runId?: unknown } | null)?.runId;
    return typeof runId === 'string' && RUN_ID.test(runId) ? { value: { runId }, etag: blob.etag } : null;
  }

  async writeLatest(runId: string, etag: string | null): Promise<boolean> {
    return (await this.write(LATEST_BLOB, JSON.stringify({ runId: checkRunId(runId) }), 'application/json', etag, 'the latest reconciliation')) !== null;
  }

  readState(runId: string): Promise<StoredBlob<unknown> | null> {
    return this.readJson(`runs/${checkRunId(runId)}/state.json`, 'a reconciliation checkpoint');
  }

  writeState(runId: string, state: unknown, etag: string | null): Promise<string | null> {
    return this.write(`runs/${checkRunId(runId)}/state.json`, JSON.stringify(state), 'application/json', etag, 'a reconciliation checkpoint');
  }

  async writePart(runId: string, name: string, value: unknown): Promise<void> {
    await this.write(`runs/${checkRunId(runId)}/parts/${name}.json`, JSON.stringify(value), 'application/json', undefined, 'a reconciliation part');
  }

  async readPart(runId: string, name: string): Promise<unknown> {
    const blob = await this.readJson(`runs/${checkRunId(runId)}/parts/${name}.json`, 'a reconciliation part');
    if (!blob) throw storageError('reading a reconciliation part', new Error(`part ${name} of run ${runId} is missing`));
    return blob.value;
  }

  async writeReport(runId: string, json: string, csv: string): Promise<void> {
    const prefix = `runs/${checkRunId(runId)}`;
    await this.write(`${prefix}/report.json`, json, 'application/json', undefined, 'a reconciliation report');
    await this.write(`${prefix}/report.csv`, csv, 'text/csv; charset=utf-8', undefined, 'a reconciliation report');
  }

  async readReport(runId: string, format: 'json' | 'csv'): Promise<string | null> {
    return (await this.read(`runs/${checkRunId(runId)}/report.${format}`, 'a reconciliation report'))?.text ?? null;
  }

  async deleteParts(runId: string): Promise<void> {
    await ensureContainer(this.container);
    try {
      for await (const blob of this.container.listBlobsFlat({ prefix: `runs/${checkRunId(runId)}/parts/` })) {
        await this.container.deleteBlob(blob.name).catch((error: unknown) => {
          if (statusOf(error) !== 404) throw error;
        });
      }
    } catch (error) {
      throw storageError('deleting reconciliation parts', error);
    }
  }
}

import type { QueueClient } from '@azure/storage-queue';
import { SyncError } from '../errors';
import { queueClient, statusOf, storageError, withQueue, type StorageConnection } from './connection';
import type { QueueSender, SendOptions } from './types';

/** The service's limit for one message, after encoding. */
export const MAX_MESSAGE_BYTES = 64 * 1024;
export const DEFAULT_SEND_CONCURRENCY = 32;
/** The longest a message can be kept invisible. */
export const MAX_VISIBILITY_SECONDS = 7 * 24 * 3600;
/** A message lives this long unless told otherwise (the service's default time-to-live). */
export const DEFAULT_TIME_TO_LIVE_SECONDS = 7 * 24 * 3600;
/** A delayed message becomes visible at least this long before it would expire. */
export const EXPIRY_MARGIN_SECONDS = 3600;

/**
 * The longest delay a message of this time-to-live may be sent with: it must become visible well before it
 * expires, or it would vanish unread the moment it shows (-1, never expiring, allows the full 7 days).
 */
export function longestDelaySeconds(timeToLiveSeconds: number | undefined): number {
  if (timeToLiveSeconds === -1) return MAX_VISIBILITY_SECONDS;
  const lifetime = timeToLiveSeconds ?? DEFAULT_TIME_TO_LIVE_SECONDS;
  return Math.max(0, Math.min(MAX_VISIBILITY_SECONDS, lifetime - EXPIRY_MARGIN_SECONDS));
}
/** The service hands out at most 32 messages per receive. */
const MAX_RECEIVE_COUNT = 32;

export interface QueueSenderOptions {
  /** Sends in flight at once. */
  concurrency?: number;
  /** Seconds a message lives; -1 for never expiring (poison messages stay replayable). Service default: 7 days. */
  messageTimeToLiveSeconds?: number;
}

/** What the Functions queue trigger expects with host.json `messageEncoding: base64`: JSON text, base64-encoded. */
export function encodeMessage(message: unknown): string {
  const json = JSON.stringify(message);
  if (json === undefined) throw new SyncError('InvalidMessage', 'A queue message must be JSON-serializable', { transient: false });
  return Buffer.from(json, 'utf8').toString('base64');
}

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/u;
const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * A message body as the queue trigger would hand it over: base64 JSON (our own format), plain JSON
 * (sent by a tool without encoding), or else the text itself, so the worker's schema check decides.
 */
export function decodeMessage(text: string): unknown {
  const trimmed = text.trim();
  if (trimmed.length > 0 && BASE64.test(trimmed)) {
    try {
      return JSON.parse(strictUtf8.decode(Buffer.from(trimmed, 'base64')));
    } catch {
      // Not base64 JSON after all (e.g. a bare number that happens to be valid base64).
    }
  }
  try {
    return JSON.parse(trimmed);
  } catch {
    return text;
  }
}

/** Sends JSON messages, base64-encoded, with bounded parallelism; rejects when any message could not be sent. */
export class StorageQueueSender implements QueueSender {
  private readonly concurrency: number;
  private readonly timeToLive: number | undefined;

  constructor(
    private readonly queue: QueueClient,
    options: QueueSenderOptions = {},
  ) {
    this.concurrency = Math.max(1, Math.floor(options.concurrency ?? DEFAULT_SEND_CONCURRENCY));
    this.timeToLive = options.messageTimeToLiveSeconds;
  }

  async send(messages: readonly unknown[], options: SendOptions = {}): Promise<void> {
    // Encode and size-check everything first, so an oversized message fails the call before anything is sent.
    const texts = messages.map((message, index) => {
      const text = encodeMessage(message);
      if (Buffer.byteLength(text) > MAX_MESSAGE_BYTES) {
        throw new SyncError('InvalidMessage', `Queue message ${index + 1} is ${Buffer.byteLength(text)} bytes encoded, more than ${MAX_MESSAGE_BYTES}`, {
          transient: false,
        });
      }
      return text;
    });
    if (texts.length === 0) return;
    await sendTexts(this.queue, texts, this.concurrency, this.timeToLive, options.delaySeconds);
  }
}

async function sendTexts(
  queue: QueueClient,
  texts: readonly string[],
  concurrency: number,
  timeToLive: number | undefined,
  delaySeconds?: number,
): Promise<void> {
  const delay = delaySeconds === undefined ? 0 : Math.min(longestDelaySeconds(timeToLive), Math.max(0, Math.ceil(delaySeconds)));
  const options = {
    ...(timeToLive === undefined ? {} : { messageTimeToLive: timeToLive }),
    ...(delay > 0 ? { visibilityTimeout: delay } : {}),
  };
  let next = 0;
  let failed = 0;
  let firstError: unknown;
  const worker = async () => {
    // After the first failure no new sends start: the caller will answer 503 and the sender retry the lot.
    while (next < texts.length && firstError === undefined) {
      const text = texts[next++] as string;
      try {
        await withQueue(queue, () => queue.sendMessage(text, options));
      } catch (error) {
        failed += 1;
        firstError ??= error;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, texts.length) }, worker));
  if (firstError !== undefined) {
    const cause = storageError(`sending to queue ${queue.name}`, firstError);
    throw new SyncError(cause instanceof SyncError ? cause.code : 'StorageUnavailable', `${cause.message} (${failed} of ${texts.length} messages not sent)`, {
      transient: cause instanceof SyncError ? cause.transient : false,
      ...(cause instanceof SyncError && cause.status !== undefined ? { status: cause.status } : {}),
      cause: firstError,
    });
  }
}

export function createQueueSender(storage: StorageConnection, queueName: string, options: QueueSenderOptions = {}): QueueSender {
  return new StorageQueueSender(queueClient(storage, queueName), options);
}

/** Sends one message exactly as given (already encoded), e.g. moving an unreadable message to the poison queue untouched. */
export async function sendMessageText(
  storage: StorageConnection,
  queueName: string,
  messageText: string,
  options: Pick<QueueSenderOptions, 'messageTimeToLiveSeconds'> = {},
): Promise<void> {
  const queue = queueClient(storage, queueName);
  await sendTexts(queue, [messageText], 1, options.messageTimeToLiveSeconds);
}

export interface ReceivedQueueMessage {
  messageId: string;
  popReceipt: string;
  /** 1 on the first delivery. */
  dequeueCount: number;
  /** The raw text as stored (base64 for our messages); see decodeMessage. */
  messageText: string;
  insertedOn: Date;
  expiresOn: Date;
  nextVisibleOn: Date;
}

/** Takes up to `count` (at most 32) visible messages, hiding them for `visibilityTimeoutSeconds`. */
export async function receiveMessages(
  storage: StorageConnection,
  queueName: string,
  count: number,
  visibilityTimeoutSeconds: number,
): Promise<ReceivedQueueMessage[]> {
  const queue = queueClient(storage, queueName);
  try {
    const response = await withQueue(queue, () =>
      queue.receiveMessages({
        numberOfMessages: Math.min(MAX_RECEIVE_COUNT, Math.max(1, Math.floor(count))),
        visibilityTimeout: Math.max(0, Math.floor(visibilityTimeoutSeconds)),
      }),
    );
    return response.receivedMessageItems.map((item) => ({
      messageId: item.messageId,
      popReceipt: item.popReceipt,
      dequeueCount: item.dequeueCount,
      messageText: item.messageText,
      insertedOn: item.insertedOn,
      expiresOn: item.expiresOn,
      nextVisibleOn: item.nextVisibleOn,
    }));
  } catch (error) {
    throw storageError(`receiving from queue ${queueName}`, error);
  }
}

/** Removes a processed message; one already gone (404) is fine. */
export async function deleteMessage(storage: StorageConnection, queueName: string, messageId: string, popReceipt: string): Promise<void> {
  const queue = queueClient(storage, queueName);
  try {
    await queue.deleteMessage(messageId, popReceipt);
  } catch (error) {
    if (statusOf(error) === 404) return;
    throw storageError(`deleting from queue ${queueName}`, error);
  }
}

/** Hides a message for another `visibilityTimeoutSeconds` (0 = visible now); returns the new pop receipt. */
export async function updateVisibility(
  storage: StorageConnection,
  queueName: string,
  messageId: string,
  popReceipt: string,
  visibilityTimeoutSeconds: number,
): Promise<string> {
  const queue = queueClient(storage, queueName);
  try {
    const response = await queue.updateMessage(messageId, popReceipt, undefined, Math.max(0, Math.floor(visibilityTimeoutSeconds)));
    if (!response.popReceipt) throw new Error('the service returned no pop receipt');
    return response.popReceipt;
  } catch (error) {
    throw storageError(`updating a message in queue ${queueName}`, error);
  }
}

/** Approximate number of messages, visible or not (the queue is created when missing). */
export async function peekCount(storage: StorageConnection, queueName: string): Promise<number> {
  const queue = queueClient(storage, queueName);
  try {
    return (await withQueue(queue, () => queue.getProperties())).approximateMessagesCount ?? 0;
  } catch (error) {
    throw storageError(`reading queue ${queueName}`, error);
  }
}

/** Sends one JSON message that becomes visible after `delaySeconds` (well before it expires), e.g. a retry after a pause. */
export async function sendDelayed(storage: StorageConnection, queueName: string, message: unknown, delaySeconds: number): Promise<void> {
  const queue = queueClient(storage, queueName);
  const visibilityTimeout = Math.max(0, Math.min(longestDelaySeconds(undefined), Math.floor(delaySeconds)));
  try {
    await withQueue(queue, () => queue.sendMessage(encodeMessage(message), visibilityTimeout > 0 ? { visibilityTimeout } : {}));
  } catch (error) {
    throw storageError(`sending to queue ${queueName}`, error);
  }
}

import { POISON_QUEUE } from '../queueNames';
import type { StorageConnection } from './connection';
import { deleteMessage, peekCount, receiveMessages, sendMessageText } from './queues';
import type { PoisonMessage, PoisonQueue } from './types';

/** customer-sync-poison through the storage queue helpers. */
export function storagePoisonQueue(storage: StorageConnection, queueName: string = POISON_QUEUE): PoisonQueue {
  return {
    receive: async (count, visibilitySeconds) =>
      (await receiveMessages(storage, queueName, count, visibilitySeconds)).map((message) => ({
        messageId: message.messageId,
        popReceipt: message.popReceipt,
        messageText: message.messageText,
      })),
    delete: (message) => deleteMessage(storage, queueName, message.messageId, message.popReceipt),
    count: () => peekCount(storage, queueName),
  };
}

/** Moving raw messages between queues, for the sweeper of the last-line poison queues. */
export interface QueueMover {
  receive(queue: string, count: number, visibilitySeconds: number): Promise<PoisonMessage[]>;
  /** Sends the text exactly as it was stored (its delivery count starts again on the new queue). */
  send(queue: string, messageText: string): Promise<void>;
  delete(queue: string, message: PoisonMessage): Promise<void>;
}

export function storageQueueMover(storage: StorageConnection): QueueMover {
  return {
    receive: async (queue, count, visibilitySeconds) =>
      (await receiveMessages(storage, queue, count, visibilitySeconds)).map((message) => ({
        messageId: message.messageId,
        popReceipt: message.popReceipt,
        messageText: message.messageText,
      })),
    send: (queue, messageText) => sendMessageText(storage, queue, messageText),
    delete: (queue, message) => deleteMessage(storage, queue, message.messageId, message.popReceipt),
  };
}

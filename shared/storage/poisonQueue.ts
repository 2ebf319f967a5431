import { POISON_QUEUE } from '../queueNames';
import type { StorageConnection } from './connection';
import { deleteMessage, peekCount, receiveMessages } from './queues';
import type { PoisonQueue } from './types';

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

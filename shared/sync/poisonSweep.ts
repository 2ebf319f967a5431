import { describeError } from '../errors';
import type { Logger } from '../log';
import { SWEPT_QUEUES } from '../queueNames';
import type { QueueMover } from '../storage/poisonQueue';
import { reportEvent, STRANDED_MESSAGES_EVENT, type StrandedMessagesEvent } from '../telemetry';

/** At most this many messages per queue and run (the next run takes the rest). */
const MAX_PER_RUN = 320;
/** How long a message being moved stays hidden (a crash mid-move shows it again, to be moved by the next run). */
const MOVE_VISIBILITY_SECONDS = 120;

export interface SweepResult {
  queue: string;
  returnedTo: string;
  found: number;
  moved: number;
}

/**
 * The last line: a message reaches a poison queue's own poison queue only when its poison reader failed 5 times
 * (the queue refusing the reader's own re-send, or a fault of the reader). Nothing triggers on those queues, so
 * this timer moves their messages back to the poison queue they came from (the reader tries again, its delivery
 * count starting over) and reports each queue where it found any as `StrandedMessages` (error), which an alert
 * counts. A message that cannot be moved now stays where it is for the next run, and is reported as left.
 */
export async function sweepPoisonQueues(deps: { queues: QueueMover; logger: Logger }): Promise<SweepResult[]> {
  const results: SweepResult[] = [];
  for (const { from, to } of SWEPT_QUEUES) {
    const result: SweepResult = { queue: from, returnedTo: to, found: 0, moved: 0 };
    let failure: string | null = null;
    try {
      while (result.found < MAX_PER_RUN) {
        const messages = await deps.queues.receive(from, 32, MOVE_VISIBILITY_SECONDS);
        if (messages.length === 0) break;
        for (const message of messages) {
          result.found += 1;
          // Sent first, deleted after: a crash in between leaves a copy behind, never nothing.
          await deps.queues.send(to, message.messageText);
          await deps.queues.delete(from, message);
          result.moved += 1;
        }
      }
    } catch (error) {
      failure = describeError(error);
    }
    if (result.found > 0 || failure !== null) {
      const event: StrandedMessagesEvent = { queue: from, returnedTo: to, found: result.found, moved: result.moved, left: result.found - result.moved, error: failure };
      reportEvent(deps.logger, STRANDED_MESSAGES_EVENT, event, 'error');
    }
    results.push(result);
  }
  return results;
}

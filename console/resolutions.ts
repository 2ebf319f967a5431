/**
 * What an operator does about each error code. The first three are the integration's documented
 * resolutions for its named errors; the others follow from how this sync behaves.
 */
export interface Resolution {
  title: string;
  resolution: string;
  /** Fixing it needs a change in Business Central (or iPaaS.com) first; a replay alone fails again. */
  needsDataFix: boolean;
}

export const RESOLUTIONS: Record<string, Resolution> = {
  InvalidEmail: {
    title: 'Invalid email',
    resolution: 'Ensure the email field is valid and follows the format user@example.com.',
    needsDataFix: true,
  },
  MissingEmail: {
    title: 'Missing email',
    resolution: 'Ensure the email field is present in Microsoft Dynamics 365 before syncing.',
    needsDataFix: true,
  },
  DuplicateCustomerNumber: {
    title: 'Duplicate CustomerNumber',
    resolution: 'Ensure CustomerNumber values are unique or update the existing record.',
    needsDataFix: true,
  },
  DuplicateEmail: {
    title: 'Duplicate email in iPaaS.com',
    resolution: 'Several iPaaS.com customers share this email; merge or correct them in iPaaS.com so the email is unique, then replay.',
    needsDataFix: true,
  },
  EmailInUse: {
    title: 'Email already in use',
    resolution:
      'The iPaaS.com customer with this email is already linked to the other Business Central customer the message names. Give one of the two its own email in Business Central (the change is transferred by itself), or merge them there.',
    needsDataFix: true,
  },
  MissingCustomerNumber: {
    title: 'Missing customer number',
    resolution: 'Give the customer a number (No.) in Business Central, then replay.',
    needsDataFix: true,
  },
  MissingName: {
    title: 'Missing name',
    resolution: 'Enter the customer name in Business Central, then replay.',
    needsDataFix: true,
  },
  MissingRequiredField: {
    title: 'Required field missing',
    resolution:
      'A destination the mapping file marks required is empty for this customer; the message names it. Fill it in Business Central, or change the mapping file if it should not be required, then replay.',
    needsDataFix: true,
  },
  MappingFailed: {
    title: 'Mapping failed',
    resolution:
      'A formula or filter of the mapping file failed for this customer; the message names the entry and the error. Correct the customer in Business Central or the expression in the mapping file, then replay.',
    needsDataFix: true,
  },
  RetriesExhausted: {
    title: 'Retries exhausted',
    resolution: 'Five deliveries failed on temporary errors. Check health and the services on hold; once they answer, replay.',
    needsDataFix: false,
  },
  InvalidMessage: {
    title: 'Invalid queue message',
    resolution: 'A message that is not a valid sync request reached the queue; find its sender. Sync the customer again if needed.',
    needsDataFix: false,
  },
  BusinessCentralUnavailable: {
    title: 'Business Central unavailable',
    resolution: 'Business Central did not answer in time or answered 5xx/429; replay once it answers again.',
    needsDataFix: false,
  },
  BusinessCentralError: {
    title: 'Business Central rejected the request',
    resolution: 'Check the Business Central app registration, its permissions and BC_COMPANY_ID / BC_ENVIRONMENT; then replay.',
    needsDataFix: false,
  },
  IpaasUnavailable: {
    title: 'iPaaS.com unavailable',
    resolution: 'iPaaS.com did not answer in time or answered 5xx/429; replay once it answers again.',
    needsDataFix: false,
  },
  IpaasRejected: {
    title: 'iPaaS.com rejected the request',
    resolution: 'Read the error message: a refused API key needs a new IPAAS_API_TOKEN; a refused field needs the customer corrected. Then replay.',
    needsDataFix: false,
  },
  ConcurrentSync: {
    title: 'Concurrent sync',
    resolution: 'Another sync of the same customer held it; replay (it is safe: a customer is never created twice).',
    needsDataFix: false,
  },
  StorageUnavailable: {
    title: 'Storage unavailable',
    resolution: 'Azure Storage did not answer; check health, then replay.',
    needsDataFix: false,
  },
  StorageRejected: {
    title: 'Storage refused a row',
    resolution:
      'Azure Storage refused to read or write a row for this customer (the message names the table and key, e.g. an unreadable or too large value); delete or fix that row, then replay.',
    needsDataFix: false,
  },
  InternalError: {
    title: 'Internal error',
    resolution:
      'An unexpected error in this app, logged in full at Error level; replay once, and if it fails again report it with the log line (a new deployment fixes it).',
    needsDataFix: false,
  },
  Configuration: {
    title: 'Configuration',
    resolution: 'A setting is missing or wrong; health names it. Fix the app setting, then replay.',
    needsDataFix: false,
  },
};

/** A resolution for any code, including one recorded by a newer version of the app (the fallback). */
export function resolutionOf(code: string): Resolution {
  return RESOLUTIONS[code] ?? { title: code, resolution: 'Read the error message in the customer history; fix the cause, then replay.', needsDataFix: false };
}

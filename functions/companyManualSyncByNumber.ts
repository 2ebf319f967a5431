import { app } from '@azure/functions';
import { manualSyncByNumber } from './manualSyncByNumber';

/** Manual transfer (or, ?dryRun=true, its plan) of a customer of one company, by number: `{company}` is its GUID or configured name (404 UnknownCompany otherwise); the handler is the route's without a company. */
app.http('companyManualSyncByNumber', {
  methods: ['POST'],
  authLevel: 'function',
  route: 'companies/{company}/customers/by-number/{number}/sync',
  handler: manualSyncByNumber,
});

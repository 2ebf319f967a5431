import { app } from '@azure/functions';
import { manualSync } from './manualSync';

/** Manual transfer (or, ?dryRun=true, its plan) of a customer of one company, by id: `{company}` is its GUID or configured name (404 UnknownCompany otherwise); the handler is the route's without a company. */
app.http('companyManualSync', {
  methods: ['POST'],
  authLevel: 'function',
  route: 'companies/{company}/customers/{id}/sync',
  handler: manualSync,
});

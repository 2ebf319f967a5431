/**
 * The yardstick for the cold-start figure: the smallest v4 app there is, `@azure/functions` and one HTTP
 * function, bundled exactly like the real app (scripts/bundle.ts). Not deployed; the bench builds it into .bench/.
 */
import { app } from '@azure/functions';

app.http('hello', {
  methods: ['GET'],
  authLevel: 'anonymous',
  handler: async () => ({ status: 200, body: 'hello' }),
});

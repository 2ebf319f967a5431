/**
 * The storage connection as the stores use it, in one import: its clients (clients.ts), what its failures mean
 * (storageErrors.ts), the tables, queues and containers it creates on first use (resources.ts) and the keys it
 * writes (keys.ts).
 */
export * from './clients';
export * from './storageErrors';
export * from './resources';
export * from './keys';

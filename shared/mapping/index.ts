export * from './customerMapping';
export * from './email';

export * from './customerMapping';
export * from './email';
export * from './mappingFile';

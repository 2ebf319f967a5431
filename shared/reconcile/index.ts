export * from './report';
export * from './expected';
export * from './classify';
export * from './csv';
export * from './reconcile';
export * from './queueRun';

/** @type {import('jest').Config} */
const swc = ['@swc/jest', { jsc: { target: 'es2022', parser: { syntax: 'typescript' } }, module: { type: 'commonjs' } }];

module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  // The multi-instance fault campaign runs on its own (`npm run faults`, jest.faults.config.js): it starts three
  // hosts as processes and must not share the machine with the rest of the suite.
  testPathIgnorePatterns: ['/node_modules/', '<rootDir>/test/faults/campaign\\.test\\.ts$'],
  transform: {
    '^.+\\.(t|j|mj)s$': swc,
  },
  // msw depends on ESM-only packages; compile them to CommonJS like our own code.
  transformIgnorePatterns: ['/node_modules/(?!(rettime|@open-draft|until-async|msw|@mswjs)/)'],
  moduleNameMapper: {
    // The Functions worker provides this module in Azure; locally our host's stand-in collects registrations.
    '^@azure/functions-core$': '<rootDir>/dev/host/functionsCoreStub.ts',
    // The function files load their modules with import('../shared/x.js') (ESM spelling, so the build can split them).
    '^(\\.{1,2}/shared/.*)\\.js$': '$1',
  },
  globalSetup: '<rootDir>/test/support/globalSetup.ts',
  globalTeardown: '<rootDir>/test/support/globalTeardown.ts',
  setupFiles: ['<rootDir>/test/support/setupEnv.ts'],
  testTimeout: 30000,
  maxWorkers: 2,
};

/**
 * The multi-instance fault campaign (test/faults/campaign.test.ts) alone: `npm run faults` (.ci/run runs it after
 * `npm test`). Same transform, Azurite and settings as the suite; one worker, the campaign only.
 */
const base = require('./jest.config.js');

/** @type {import('jest').Config} */
module.exports = {
  ...base,
  testMatch: ['<rootDir>/test/faults/campaign.test.ts'],
  testPathIgnorePatterns: ['/node_modules/'],
  maxWorkers: 1,
};

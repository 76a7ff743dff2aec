/** Two tiers: `unit` (pure logic, no database) and `e2e` (HTTP and services against PostgreSQL). */
const transform = {
  '^.+\\.(ts|js)$': [
    '@swc/jest',
    {
      jsc: {
        target: 'es2023',
        parser: { syntax: 'typescript', decorators: true },
        transform: {
          legacyDecorator: true,
          decoratorMetadata: true,
          useDefineForClassFields: false,
        },
        keepClassNames: true,
      },
      module: { type: 'commonjs' },
    },
  ],
};

// Jest on Node 20 cannot require() ES modules. A few CommonJS dependencies pull
// one in (content-disposition 3 from @fastify/static): compile those to CommonJS.
const ESM_DEPENDENCIES = ['content-disposition'];
const transformIgnorePatterns = [
  `^(?!.*/node_modules/(${ESM_DEPENDENCIES.join('|')})/).*/node_modules/`,
];

/** @type {import('jest').Config} */
module.exports = {
  maxWorkers: process.env.JEST_WORKERS ?? '50%',
  // e2e files start servers and databases; a project-level testTimeout is ignored.
  testTimeout: 60_000,
  projects: [
    {
      displayName: 'unit',
      testEnvironment: 'node',
      transform,
      transformIgnorePatterns,
      roots: ['<rootDir>/src', '<rootDir>/test/unit'],
      testMatch: ['**/*.spec.ts'],
    },
    {
      displayName: 'e2e',
      testEnvironment: 'node',
      transform,
      transformIgnorePatterns,
      roots: ['<rootDir>/test'],
      testMatch: ['**/*.e2e-spec.ts'],
      globalSetup: '<rootDir>/test/support/global-setup.ts',
      globalTeardown: '<rootDir>/test/support/global-teardown.ts',
      setupFiles: ['<rootDir>/test/support/setup-file.ts'],
    },
  ],
};

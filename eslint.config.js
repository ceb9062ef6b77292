// Lint rules: the recommended sets of ESLint and typescript-eslint, plus the house rule that
// core/ stays free of I/O and of imports from the rest of the project.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/', 'node_modules/', 'coverage/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: {
      globals: {
        process: 'readonly', console: 'readonly', Buffer: 'readonly', URL: 'readonly',
        setTimeout: 'readonly', clearTimeout: 'readonly', setInterval: 'readonly',
        clearInterval: 'readonly', setImmediate: 'readonly', AbortController: 'readonly',
        AbortSignal: 'readonly', fetch: 'readonly', TextEncoder: 'readonly', TextDecoder: 'readonly',
        URLSearchParams: 'readonly', structuredClone: 'readonly', performance: 'readonly',
        queueMicrotask: 'readonly', Response: 'readonly', Request: 'readonly', Headers: 'readonly',
        FormData: 'readonly', Blob: 'readonly', document: 'readonly', window: 'readonly',
      },
    },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-console': 'off',
    },
  },
  {
    // Tests read JSON answers loosely; the assertions are the type check there.
    files: ['test/**/*.ts', 'bench/**/*.js'],
    rules: { '@typescript-eslint/no-explicit-any': 'off', '@typescript-eslint/no-non-null-assertion': 'off' },
  },
  {
    files: ['src/core/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', {
        patterns: [
          { group: ['../store/*', '../server/*', '../doors/*', '../cli/*', '../sdk/*', '../web/*', '../engine/*'], message: 'core imports nothing from the rest of pairgate' },
          { group: ['node:fs', 'node:net', 'node:http', 'node:dgram', 'fs', 'net', 'http'], message: 'core does no I/O' },
        ],
      }],
    },
  },
  {
    files: ['src/**/*.ts'],
    ignores: ['src/cli/**'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [{ group: ['**/cli/*', '../cli/**'], message: 'nothing imports cli' }] }],
    },
  },
);

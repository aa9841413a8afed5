// @ts-check
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import { layeringPlugin } from './tools/package-graph.mjs';

export default tseslint.config(
  { ignores: ['**/dist/**', '**/test-dist/**', '**/node_modules/**', '.nx/**', '**/*.js', '**/*.mjs', '**/*.cjs'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/no-floating-promises': [
        'error',
        { allowForKnownSafeCalls: [{ from: 'package', name: ['test', 'describe', 'it', 'suite'], package: 'node:test' }] },
      ],
      '@typescript-eslint/require-await': 'off',
      '@typescript-eslint/no-extraneous-class': 'off',
      'no-constant-condition': ['error', { checkLoops: false }],
    },
  },
  {
    // Imports go down the package layers (Nx tags in each package.json) and name only declared packages.
    files: ['**/*.ts', '**/*.tsx'],
    plugins: { subpack: layeringPlugin },
    rules: { 'subpack/layering': 'error' },
  },
  {
    files: ['**/*.test.ts', 'bench/**/*.ts', '**/test-support/**/*.ts'],
    rules: {
      '@typescript-eslint/no-non-null-assertion': 'off',
    },
  },
);

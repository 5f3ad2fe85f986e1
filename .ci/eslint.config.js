// `npm run lint` (part of `npm test`): ESLint's and typescript-eslint's recommended rule sets,
// without type information, so a run parses files only and stays fast; tsc already type-checks.
// knip (.ci/knip.jsonc) finds unused files, exports and dependencies.
import js from '@eslint/js';
import globals from 'globals';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/', 'node_modules/', 'var/', '.tap/', 'test-artifacts/', 'debian/', '.ci/cache/'] },
  js.configs.recommended,
  tseslint.configs.recommended,
  {
    rules: {
      // `_name` marks a parameter a signature needs but the body does not (test/helpers/pybal-model.ts
      // mirrors PyBal's callbacks); `const { ok: _ok, ...rest } = x` drops a field on purpose.
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', ignoreRestSiblings: true }],
    },
  },
  // Node scripts in plain JavaScript (TypeScript files get their globals from @types/node).
  { files: ['**/*.mjs'], languageOptions: { globals: globals.node } },
  // The dashboard's script runs in the browser.
  { files: ['src/api/dashboard/**/*.js'], languageOptions: { globals: globals.browser } },
);

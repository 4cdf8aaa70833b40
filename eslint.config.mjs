import js from '@eslint/js';
import tseslint from 'typescript-eslint';

const SERVER = [{ group: ['**/server/*', '**/server'], message: 'Talk to the language server through src/protocol (messages and commands).' }];
const CLIENT = [{ group: ['**/client/*', '**/client'], message: 'The server and the protocol know nothing of the VS Code client.' }];
/** The scoring engines, the model runtime, the teacher client and the CLI's serve/store I/O: server and CLI only. */
const HEAVY = [
  {
    group: [
      'node-llama-cpp',
      '@node-llama-cpp/*',
      'openai',
      '**/core/scoring/local/**',
      '**/core/scoring/vllm/**',
      '**/core/scoring/sglang/**',
      '**/core/scoring/tgi/**',
      '**/core/scoring/createScorer',
      '**/core/scoring/scoreRecords',
      '**/core/scoring/scoreFile',
      '**/core/scoring/validSet',
      '**/core/serve/**',
      '**/core/store',
      '**/core/store/**',
    ],
    message: 'A scoring engine, model runtime or teacher client: only the server and the CLI load these.',
  },
  {
    // All of core/reflect but modes.ts, a leaf of names (the reflection modes and candidate ids) that
    // the protocol and the webview share.
    regex: 'core/reflect(/(?!modes$)|$)',
    message: 'The reflection pipeline and the teacher client: only the server and the CLI load these.',
  },
];

export default tseslint.config(
  { ignores: ['out/**', 'dist/**', 'node_modules/**', '.e2e/**', 'scratch/**', '**/*.d.ts'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: {
      globals: { process: 'readonly', console: 'readonly', Buffer: 'readonly', setTimeout: 'readonly', clearTimeout: 'readonly', setInterval: 'readonly', clearInterval: 'readonly', URL: 'readonly', AbortController: 'readonly', AbortSignal: 'readonly', fetch: 'readonly', performance: 'readonly', require: 'readonly', __dirname: 'readonly', module: 'writable', TextDecoder: 'readonly', TextEncoder: 'readonly', structuredClone: 'readonly', queueMicrotask: 'readonly', setImmediate: 'readonly', document: 'readonly', window: 'readonly' },
    },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  {
    files: ['src/core/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: ['vscode', 'vscode-*'] }],
    },
  },
  // The protocol is shared by every side: it knows neither the editor nor either end of the connection.
  {
    files: ['src/protocol/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { paths: ['vscode'], patterns: [...SERVER, ...CLIENT, ...HEAVY] }],
    },
  },
  // The extension host and the webview stay light: they talk to the server through the protocol and
  // never load the server, a scoring engine, the model runtime or the teacher client themselves.
  {
    files: ['src/client/**/*.ts', 'webview/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [...SERVER, ...HEAVY] }],
    },
  },
  // The server runs in any editor: no VS Code API and nothing of the VS Code client.
  {
    files: ['src/server/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { paths: ['vscode'], patterns: CLIENT }],
    },
  },
);

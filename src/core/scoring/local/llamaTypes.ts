// node-llama-cpp is an ES module; these type-only imports tell TypeScript to resolve it as one from
// our CommonJS sources. No code is imported here.
export type {
  Llama,
  LlamaContext,
  LlamaContextSequence,
  LlamaModel,
  Token,
} from 'node-llama-cpp' with { 'resolution-mode': 'import' };
export type NodeLlamaCpp = typeof import('node-llama-cpp', { with: { 'resolution-mode': 'import' } });

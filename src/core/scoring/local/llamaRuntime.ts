import type { Llama, NodeLlamaCpp } from './llamaTypes';

// node-llama-cpp is ESM-only with a native addon: load it lazily with import() so the CommonJS
// bundles (CLI, server) start fast and only pay for it when a local model is used.
let modulePromise: Promise<NodeLlamaCpp> | undefined;
export function loadNodeLlamaCpp(): Promise<NodeLlamaCpp> {
  modulePromise ??= import('node-llama-cpp') as Promise<NodeLlamaCpp>;
  return modulePromise;
}

/**
 * The llama.cpp runtime every local engine (scorer, chat) shares: the installed prebuilt binary only
 * (`build: "never"`, no download), a GPU build where one is installed, errors-only logging.
 */
export async function openLlama(gpu = true): Promise<Llama> {
  const { getLlama, LlamaLogLevel } = await loadNodeLlamaCpp();
  return getLlama({ gpu: gpu ? 'auto' : false, build: 'never', logLevel: LlamaLogLevel.error, progressLogs: false, skipDownload: true });
}

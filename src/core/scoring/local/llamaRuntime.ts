import type { Llama, NodeLlamaCpp } from './llamaTypes';

// node-llama-cpp is ESM-only with a native addon: load it lazily with import() so the CommonJS
// bundles (CLI, server) start fast and only pay for it when a local model is used.
let modulePromise: Promise<NodeLlamaCpp> | undefined;
export function loadNodeLlamaCpp(): Promise<NodeLlamaCpp> {
  modulePromise ??= import('node-llama-cpp') as Promise<NodeLlamaCpp>;
  return modulePromise;
}

/** One runtime per process and GPU choice: every scorer and chat engine shares it. */
const runtimes = new Map<boolean, Promise<Llama>>();

/**
 * The llama.cpp runtime every local engine (scorer, chat) shares: the installed prebuilt binary only
 * (`build: "never"`, no download), a GPU build where one is installed, errors-only logging.
 * Opened once per process: getLlama tests the binary in a child process each time it is called
 * (on Linux, for prebuilt binaries), about a second before any model is loaded; a failure is not
 * kept, so the next call tries again.
 */
export function openLlama(gpu = true): Promise<Llama> {
  let runtime = runtimes.get(gpu);
  if (!runtime) {
    runtime = loadNodeLlamaCpp().then(({ getLlama, LlamaLogLevel }) =>
      getLlama({ gpu: gpu ? 'auto' : false, build: 'never', logLevel: LlamaLogLevel.error, progressLogs: false, skipDownload: true }),
    );
    runtimes.set(gpu, runtime);
    runtime.catch(() => {
      if (runtimes.get(gpu) === runtime) runtimes.delete(gpu);
    });
  }
  return runtime;
}

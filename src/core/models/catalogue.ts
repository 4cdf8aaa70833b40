/**
 * The students Sift recommends, as GGUF files on Hugging Face. Each names one file (a `hf:` URI with
 * the file path, so nothing is resolved through a manifest request) and its size, and its sha256
 * where a published one was found: the Qwen2.5 and Llama 3.2 checksums are those LocalAI's model
 * gallery (gallery/index.yaml) pins for the same files. Without one, the first download records the
 * file's checksum and every later pull checks the file against it (see pull.ts).
 */
export interface CatalogueModel {
  /** The short name `--model` and `sift model pull` accept. */
  name: string;
  title: string;
  uri: string;
  /** Download size in bytes (rounded where the exact size was not published). */
  bytes: number;
  sha256?: string;
  /** What it is for, in a few words: shown beside the name. */
  use: string;
  license: string;
}

export const CATALOGUE: readonly CatalogueModel[] = [
  {
    name: 'qwen2.5-0.5b-instruct',
    title: 'Qwen2.5 0.5B Instruct (Q4_K_M)',
    uri: 'hf:bartowski/Qwen2.5-0.5B-Instruct-GGUF/Qwen2.5-0.5B-Instruct-Q4_K_M.gguf',
    bytes: 398_000_000,
    sha256: '6eb923e7d26e9cea28811e1a8e852009b21242fb157b26149d3b188f3a8c8653',
    use: 'a small chat student; fast on a CPU',
    license: 'Apache-2.0',
  },
  {
    name: 'qwen2.5-1.5b-instruct',
    title: 'Qwen2.5 1.5B Instruct (Q4_K_M)',
    uri: 'hf:bartowski/Qwen2.5-1.5B-Instruct-GGUF/Qwen2.5-1.5B-Instruct-Q4_K_M.gguf',
    bytes: 986_000_000,
    sha256: '1adf0b11065d8ad2e8123ea110d1ec956dab4ab038eab665614adba04b6c3370',
    use: 'a stronger chat student',
    license: 'Apache-2.0',
  },
  {
    name: 'smollm2-360m-instruct',
    title: 'SmolLM2 360M Instruct (Q8_0)',
    uri: 'hf:HuggingFaceTB/SmolLM2-360M-Instruct-GGUF/smollm2-360m-instruct-q8_0.gguf',
    bytes: 386_404_992,
    use: 'the smallest chat student',
    license: 'Apache-2.0',
  },
  {
    name: 'llama-3.2-1b-instruct',
    title: 'Llama 3.2 1B Instruct (Q4_K_M)',
    uri: 'hf:hugging-quants/Llama-3.2-1B-Instruct-Q4_K_M-GGUF/llama-3.2-1b-instruct-q4_k_m.gguf',
    bytes: 807_690_656,
    sha256: '1d0e9419ec4e12aef73ccf4ffd122703e94c48344a96bc7c5f0f2772c2152ce3',
    use: 'a Llama-family chat student',
    license: 'Llama 3.2 Community License',
  },
  {
    name: 'gpt2',
    title: 'GPT-2 124M (Q8_0)',
    uri: 'hf:QuantFactory/gpt2-GGUF/gpt2.Q8_0.gguf',
    bytes: 178_000_000,
    use: "Superfiltering's weak scorer (a base model: use the plain template)",
    license: 'MIT',
  },
];

export function catalogueModel(nameOrUri: string): CatalogueModel | undefined {
  const key = nameOrUri.trim();
  return CATALOGUE.find((model) => model.name === key.toLowerCase() || model.uri === key);
}

/** `398 MB`, `1.0 GB`: decimal units, as download pages state sizes. */
export function formatBytes(bytes: number): string {
  if (bytes >= 1e9) return `${(bytes / 1e9).toFixed(1)} GB`;
  if (bytes >= 1e6) return `${Math.round(bytes / 1e6)} MB`;
  if (bytes >= 1e3) return `${Math.round(bytes / 1e3)} kB`;
  return `${bytes} B`;
}

import { basename, join } from 'node:path';
import { CATALOGUE, formatBytes, type CatalogueModel } from '../core/models/catalogue';
import type { PulledModel } from '../core/models/store';

/** What the student is now: the settings that decide it. */
export interface StudentSettings {
  backend: string;
  modelPath: string;
  endpointUrls: readonly string[];
  servedModel: string;
}

export type StudentChoice =
  | { kind: 'bundled' }
  | { kind: 'download'; model: CatalogueModel; pulledPath?: string }
  | { kind: 'file' }
  | { kind: 'endpoint' };

export interface StudentPickItem {
  label: string;
  description?: string;
  detail?: string;
  /** A separator line (a group heading), not a choice. */
  separator?: boolean;
  choice?: StudentChoice;
}

/** The catalogue model pulled into `dir` whose file is `path`, if any. */
function pulledCatalogueModel(path: string, dir: string, pulled: readonly PulledModel[]): CatalogueModel | undefined {
  const entry = pulled.find((m) => join(dir, m.file) === path);
  return entry && CATALOGUE.find((m) => m.uri === entry.source);
}

/**
 * The quick pick of **Sift: Choose Student Model…**: the bundled demo, the recommended downloads
 * (with sizes; the ones already downloaded say so), a GGUF file on disk, an endpoint. The current
 * student's entry is marked.
 */
export function studentPickItems(current: StudentSettings, dir: string, pulled: readonly PulledModel[], exists: (path: string) => boolean): StudentPickItem[] {
  const local = current.backend === 'local';
  const inUse = ' (in use)';
  const currentPath = local ? current.modelPath : '';
  const items: StudentPickItem[] = [
    { label: '$(package) TinyStories 260K', description: `bundled demo${local && !currentPath ? inUse : ''}`, detail: 'Ships with Sift: shows the workflow, not a useful student.', choice: { kind: 'bundled' } },
    { label: 'Recommended downloads (Hugging Face, GGUF)', separator: true },
  ];
  for (const model of CATALOGUE) {
    const entry = pulled.find((m) => m.source === model.uri);
    const pulledPath = entry && exists(join(dir, entry.file)) ? join(dir, entry.file) : undefined;
    const using = pulledPath !== undefined && pulledPath === currentPath;
    items.push({
      label: `${pulledPath ? '$(check)' : '$(cloud-download)'} ${model.title}`,
      description: `${formatBytes(model.bytes)}${pulledPath ? ', downloaded' : ''}${using ? inUse : ''}`,
      detail: `${model.use} · ${model.license} · ${model.uri}`,
      choice: { kind: 'download', model, pulledPath },
    });
  }
  const otherFile = local && currentPath && !pulledCatalogueModel(currentPath, dir, pulled) ? basename(currentPath) : undefined;
  items.push(
    { label: 'Elsewhere', separator: true },
    { label: '$(file) A GGUF file on disk…', description: otherFile ? `${otherFile}${inUse}` : undefined, choice: { kind: 'file' } },
    {
      label: '$(server) An endpoint (vLLM, SGLang, TGI)…',
      description: local ? undefined : `${current.backend} ${current.endpointUrls.join(', ')}${inUse}`,
      choice: { kind: 'endpoint' },
    },
  );
  return items;
}

/** Short name of the student in use, for the status item: `Qwen2.5 0.5B Instruct (Q4_K_M)`, `model.gguf`, `vllm · http://gpu:8000`. */
export function studentLabel(current: StudentSettings, dir: string, pulled: readonly PulledModel[]): { text: string; detail: string } {
  if (current.backend !== 'local') {
    const where = current.endpointUrls[0] ?? 'no endpoint set';
    const more = current.endpointUrls.length > 1 ? ` +${current.endpointUrls.length - 1}` : '';
    return { text: `${current.servedModel || current.backend}`, detail: `${current.backend} at ${where}${more}` };
  }
  if (!current.modelPath) return { text: 'TinyStories 260K (demo)', detail: 'The bundled demo model: choose a real student to score your data' };
  const model = pulledCatalogueModel(current.modelPath, dir, pulled);
  return { text: model ? model.title : basename(current.modelPath), detail: current.modelPath };
}

/** `123 MB / 398 MB` and the share done, for the download notification. */
export function downloadMessage(downloaded: number, total: number): { message: string; percent: number } {
  const percent = total > 0 ? Math.min(100, (downloaded / total) * 100) : 0;
  return { message: `${formatBytes(downloaded)} / ${formatBytes(total)}`, percent };
}

/** An endpoint URL as typed: undefined when fine, else why not. */
export function endpointUrlProblem(text: string): string | undefined {
  try {
    const url = new URL(text.trim());
    if (url.protocol === 'http:' || url.protocol === 'https:') return undefined;
  } catch {
    // Falls through to the message.
  }
  return 'Enter an http(s) URL, e.g. http://gpu-box:8000';
}

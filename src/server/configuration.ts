import { isAbsolute, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Connection, InitializeParams } from 'vscode-languageserver';
import { DEFAULT_REFLECTION_SETTINGS, DEFAULT_SETTINGS, type ReflectionSettings, type SiftSettings } from '../protocol';
import { SECTION } from '../protocol/settings';
import { errorMessage, type ServerLog } from './log';
import { reflectionSettingsFromSection } from './reflection';
import { normalizeSettings } from './settings';

/** The `sift` section as pulled: the scoring settings, and the teacher's when the section has them. */
export interface PulledSection {
  settings: SiftSettings;
  /** Undefined when the section has no `teacher` / `reflection` group. */
  reflection: ReflectionSettings | undefined;
}

/**
 * Where the server's settings come from, and which folder relative paths in them are taken from.
 *
 * A client that answers `workspace/configuration` (VS Code, and other editors that do) is asked for
 * the `sift` section of each open document (its URI as `scopeUri`), so every folder of a multi-root
 * workspace has its own scoring settings; the scorer, the batch sizes and the teacher come from the
 * section asked for without a scope (one scorer and one teacher per server). The client applies
 * workspace trust before it answers; API keys never travel in settings (sift/settingsChanged carries
 * them). Pushed settings (`initializationOptions.settings`, then `workspace/didChangeConfiguration`
 * with `{ sift: {...} }` or sift/settingsChanged) are every document's when the client does not
 * answer, and the base a pulled section is laid over when it does: an editor configured through
 * `init_options` answers with no `sift` section at all, or only part of one.
 */
export class Configuration {
  /** The client answers workspace/configuration. */
  private pull = false;
  /** The pushed settings: every document's without pulling, the base of pulled sections otherwise. */
  private pushed: SiftSettings = DEFAULT_SETTINGS;
  /** Server-wide settings: the pushed ones, or the section pulled without a scope. */
  private wideSettings: SiftSettings = DEFAULT_SETTINGS;
  /** The teacher's settings (server-wide), the base of a pulled section's `teacher` / `reflection`. */
  reflection: ReflectionSettings = DEFAULT_REFLECTION_SETTINGS;
  private readonly perDocument = new Map<string, SiftSettings>();
  /** Local paths of the workspace folders, longest first (the innermost folder of a document wins). */
  private folders: string[] = [];
  /** The first folder (or the root URI): relative paths of documents outside every folder. */
  private root: string | undefined;

  constructor(
    private readonly connection: Connection,
    private readonly log: ServerLog,
  ) {}

  initialize(params: InitializeParams, pushed: unknown, reflection: ReflectionSettings): void {
    this.pull = params.capabilities.workspace?.configuration === true;
    this.pushed = this.wideSettings = normalizeSettings(pushed);
    this.reflection = reflection;
    const folderUris = params.workspaceFolders?.map((f) => f.uri) ?? [];
    this.setFolders(folderUris, params.rootUri ?? undefined);
  }

  /** Settings are pulled per document (the client supports workspace/configuration). */
  get pulled(): boolean {
    return this.pull;
  }

  get wide(): SiftSettings {
    return this.wideSettings;
  }

  forDocument(uri: string): SiftSettings {
    return this.perDocument.get(uri) ?? this.wideSettings;
  }

  /** The pushed settings (raw, as a client sent them): the base pulled sections are laid over. */
  get base(): SiftSettings {
    return this.pushed;
  }

  push(settings: SiftSettings): void {
    this.pushed = settings;
  }

  /** New settings in use: server-wide, and for the documents listed (pulled ones); without `documents`, every document's. */
  set(wide: SiftSettings, documents?: ReadonlyMap<string, SiftSettings>): void {
    this.wideSettings = wide;
    if (!documents) this.perDocument.clear();
    for (const [uri, settings] of documents ?? []) this.perDocument.set(uri, settings);
  }

  forget(uri: string): void {
    this.perDocument.delete(uri);
  }

  /** The folder a document's relative setting paths (dsValidSet, promptsFile) are taken from. */
  folderOf(path: string | undefined): string | undefined {
    if (path !== undefined) {
      const inside = this.folders.find((folder) => {
        const rel = relative(folder, path);
        return rel === '' || (!rel.startsWith('..') && !isAbsolute(rel));
      });
      if (inside) return inside;
    }
    return this.root;
  }

  /** The first workspace folder (or root): what a setting without a document is relative to. */
  get firstFolder(): string | undefined {
    return this.root;
  }

  setFolders(uris: readonly string[], rootUri?: string): void {
    const paths = uris.map(localPath).filter((p): p is string => p !== undefined);
    this.root = paths[0] ?? localPath(rootUri);
    this.folders = [...paths].sort((a, b) => b.length - a.length);
  }

  /**
   * The section without a scope and for each document, in one request; undefined when the client
   * failed to answer (the settings in use stay).
   */
  async fetch(uris: readonly string[]): Promise<{ wide: PulledSection; documents: Map<string, SiftSettings> } | undefined> {
    try {
      const answers: unknown[] = await this.connection.workspace.getConfiguration([{ section: SECTION }, ...uris.map((scopeUri) => ({ scopeUri, section: SECTION }))]);
      const wide = this.section(answers[0]);
      const documents = new Map(uris.map((uri, i) => [uri, this.section(answers[i + 1]).settings]));
      return { wide, documents };
    } catch (error) {
      this.log.error(`workspace/configuration failed: ${errorMessage(error)}`);
      return undefined;
    }
  }

  /** A pulled `sift` section over the pushed settings (a client with no such section answers null). */
  private section(value: unknown): PulledSection {
    const raw = value && typeof value === 'object' ? (value as Record<string, unknown>) : {};
    return { settings: normalizeSettings({ ...this.pushed, ...raw }), reflection: reflectionSettingsFromSection(raw, this.reflection) };
  }
}


function localPath(uri: string | undefined): string | undefined {
  if (!uri?.startsWith('file:')) return undefined;
  try {
    return fileURLToPath(uri);
  } catch {
    return undefined;
  }
}

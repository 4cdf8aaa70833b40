import * as vscode from 'vscode';
import type { ReflectionSettings, SiftSettings } from '../protocol';
import { isDatasetDocument as isDataset } from '../protocol/datasets';
import { resolveReflectionSettings, type ReflectionSettingKey } from './reflectionSettingsModel';
import { SECTION, resolveSettings, type InspectedValue, type SettingKey } from './settingsModel';

/**
 * The one place Sift's settings are read. Settings are resolved for a resource (the dataset being
 * edited, so folder settings of a multi-root workspace apply) with workspace trust applied: in a
 * restricted workspace the endpoint, model path, DS valid set and backend come from user settings or
 * defaults only (see RESTRICTED_KEYS).
 */
export function readSettings(resource: vscode.Uri | undefined, trusted = vscode.workspace.isTrusted): SiftSettings {
  const config = vscode.workspace.getConfiguration(SECTION, resource ? { uri: resource, languageId: 'jsonl' } : undefined);
  return resolveSettings(
    {
      get: (key: SettingKey) => config.get(key),
      inspect: (key: SettingKey) => config.inspect(key),
    },
    trusted,
  );
}

/** The teacher and reflection settings (`sift.teacher.*`, `sift.reflection.*`), with workspace trust applied. */
export function readReflectionSettings(resource: vscode.Uri | undefined, trusted = vscode.workspace.isTrusted): ReflectionSettings {
  const config = vscode.workspace.getConfiguration(SECTION, resource ? { uri: resource, languageId: 'jsonl' } : undefined);
  return resolveReflectionSettings(
    {
      get: (key: ReflectionSettingKey) => config.get(key),
      inspect: (key: ReflectionSettingKey) => config.inspect(key),
    },
    trusted,
  );
}

/** Each level's value of one URL setting (`endpointUrls` or `teacher.baseUrl`), for endpointTrust.ts. */
export function inspectUrlSetting(resource: vscode.Uri | undefined, key: 'endpointUrls' | 'teacher.baseUrl'): InspectedValue | undefined {
  return vscode.workspace.getConfiguration(SECTION, resource ? { uri: resource, languageId: 'jsonl' } : undefined).inspect(key);
}

/** A workspace value of the teacher URL exists but is ignored because the workspace is not trusted. */
export function teacherUrlIgnored(resource: vscode.Uri | undefined): boolean {
  if (vscode.workspace.isTrusted) return false;
  const inspected = vscode.workspace.getConfiguration(SECTION, resource ? { uri: resource, languageId: 'jsonl' } : undefined).inspect('teacher.baseUrl');
  return [inspected?.workspaceValue, inspected?.workspaceFolderValue, inspected?.workspaceLanguageValue, inspected?.workspaceFolderLanguageValue].some((v) => typeof v === 'string' && v !== '');
}

/** A document the server serves (the protocol's one rule). */
export function isDatasetDocument(document: vscode.TextDocument): boolean {
  return isDataset({ languageId: document.languageId, uri: document.uri.path });
}

/**
 * The resource whose settings are the server-wide ones (the scorer, the teacher and the keys that go
 * with them): the dataset in the active editor, else one in any visible editor, else the first
 * workspace folder. Each document's own scoring settings are pulled by the server with that
 * document as scope, so in a multi-root workspace every folder's datasets get that folder's.
 */
export function settingsScope(): vscode.Uri | undefined {
  const active = vscode.window.activeTextEditor?.document;
  if (active && isDatasetDocument(active)) return active.uri;
  const visible = vscode.window.visibleTextEditors.find((editor) => isDatasetDocument(editor.document));
  if (visible) return visible.document.uri;
  return vscode.workspace.workspaceFolders?.[0]?.uri;
}

export function affectsSift(event: vscode.ConfigurationChangeEvent): boolean {
  return event.affectsConfiguration(SECTION);
}

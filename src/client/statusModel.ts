import type { StatusParams } from '../protocol';
import { describeEndpoints } from './endpointHealthModel';

export type ServerState = 'starting' | 'running' | 'restarting' | 'stopped';

export type StatusAction = 'cancel' | 'scoreFile' | 'restartServer' | 'showLog';

export interface StatusView {
  text: string;
  detail: string;
  severity: 'information' | 'warning' | 'error';
  busy: boolean;
  action?: StatusAction;
}

const count = (n: number): string => Math.max(0, Math.round(n)).toLocaleString('en-US');

/** `1,234 / 5,000 scored` */
export function progressText(scored: number, total: number): string {
  return `${count(scored)} / ${count(total)} scored`;
}

/**
 * `local · gguf:stories260K.gguf:…` or `http://gpu:8000 · Qwen2.5-0.5B`, whichever parts are known.
 * A local endpoint (`local:/path/to/model.gguf`) is just `local`: the model id names the file.
 */
function endpointText(status: StatusParams): string {
  const endpoint = status.endpoint?.startsWith('local:') ? 'local' : status.endpoint;
  return [endpoint, status.model].filter((part) => part && part.trim()).join(' · ');
}

/** What the language status item shows for a document's job status and the server's state. */
export function describeStatus(status: StatusParams | undefined, server: ServerState): StatusView {
  if (server === 'starting') return { text: 'Sift: starting…', detail: 'Starting the Sift language server', severity: 'information', busy: true };
  if (server === 'restarting') return { text: 'Sift: restarting…', detail: 'The Sift language server stopped unexpectedly and is restarting', severity: 'warning', busy: true, action: 'showLog' };
  if (server === 'stopped') return { text: 'Sift: server stopped', detail: 'The Sift language server is not running', severity: 'error', busy: false, action: 'restartServer' };
  if (!status) return { text: 'Sift', detail: 'No scoring job for this file', severity: 'information', busy: false, action: 'scoreFile' };
  const where = endpointText(status);
  const health = describeEndpoints(status);
  if (health.allDown) {
    const counts = status.total > 0 ? progressText(status.scored, status.total) : '';
    return { text: 'Sift: endpoint unreachable', detail: health.waiting ?? counts, severity: 'error', busy: false, action: 'showLog' };
  }
  if ((health.replicas || health.waiting) && status.reachable !== false) {
    const text = `${status.total > 0 ? progressText(status.scored, status.total) : 'Sift'}${health.replicas ? ` · ${health.replicas}` : ''}`;
    const detail = [health.waiting, where].filter(Boolean).join(' — ');
    return { text, detail, severity: 'warning', busy: status.running, action: status.running ? 'cancel' : 'showLog' };
  }
  if (status.reachable === false) {
    const why = status.message?.trim() || `Cannot reach the scorer${where ? ` (${where})` : ''}`;
    return { text: 'Sift: scorer unreachable', detail: why, severity: 'error', busy: false, action: status.running ? 'cancel' : 'showLog' };
  }
  const detailParts = [where, status.message?.trim()].filter(Boolean) as string[];
  if (status.running) {
    return { text: progressText(status.scored, status.total), detail: detailParts.join(' — '), severity: 'information', busy: true, action: 'cancel' };
  }
  const text = status.total > 0 ? progressText(status.scored, status.total) : 'Sift';
  return { text, detail: detailParts.join(' — ') || 'Idle', severity: 'information', busy: false, action: 'scoreFile' };
}

/**
 * The status bar entry of the active dataset: the same words as the language status item, with a
 * spinner while a job runs. The language status item alone folds into the `{}` icon when it is not
 * busy, so the count vanished the moment scoring finished; this entry stays while a dataset is the
 * active editor.
 */
export function statusBarText(view: StatusView): string {
  const icon = view.busy ? '$(sync~spin)' : view.severity === 'error' ? '$(error)' : view.severity === 'warning' ? '$(warning)' : '$(pulse)';
  const text = view.text.startsWith('Sift') ? view.text : `Sift: ${view.text}`;
  return `${icon} ${text}`;
}

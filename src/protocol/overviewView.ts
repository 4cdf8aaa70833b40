/**
 * Messages between the overview webview and its host (the VS Code client), and the shape of the
 * data `sift report` embeds. Imports only type names, so the browser bundle stays free of host code.
 */

import type { OverviewResult } from './overview';
import type { OverviewRules } from '../core/overview/types';

/** What the webview draws: an overview, the file's name and the equivalent `sift filter` command. */
export interface OverviewShow {
  type: 'show';
  file: string;
  result: OverviewResult;
  rules: OverviewRules;
  command: string;
}

export type OverviewHostMessage = OverviewShow | { type: 'notice'; level: 'info' | 'error'; text: string };

export type OverviewWebviewMessage =
  | { type: 'ready' }
  | { type: 'rules'; rules: OverviewRules }
  | { type: 'reveal'; line: number }
  | { type: 'export' }
  | { type: 'copy'; text: string };

/** The report's embedded data: a `show` message with no host behind it (`static`: no controls work). */
export interface OverviewReportData extends Omit<OverviewShow, 'type'> {
  generated: string;
}

function isNumberOrAbsent(v: unknown): boolean {
  return v === undefined || (typeof v === 'number' && Number.isFinite(v));
}

/** Rules as a webview may send them, checked: fractions in (0, 1], thresholds finite. */
export function checkRules(value: unknown): OverviewRules | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const r = value as Record<string, unknown>;
  if (![r.ifdMax, r.rifdMax, r.topFraction, r.dsKeepFraction].every(isNumberOrAbsent)) return undefined;
  for (const f of [r.topFraction, r.dsKeepFraction]) if (typeof f === 'number' && !(f > 0 && f <= 1)) return undefined;
  if (r.selfConsistent !== undefined && typeof r.selfConsistent !== 'boolean') return undefined;
  const rules: OverviewRules = {};
  if (r.ifdMax !== undefined) rules.ifdMax = r.ifdMax as number;
  if (r.rifdMax !== undefined) rules.rifdMax = r.rifdMax as number;
  if (r.topFraction !== undefined) rules.topFraction = r.topFraction as number;
  if (r.dsKeepFraction !== undefined) rules.dsKeepFraction = r.dsKeepFraction as number;
  if (r.selfConsistent === true) rules.selfConsistent = true;
  return rules;
}

export function isOverviewWebviewMessage(value: unknown): value is OverviewWebviewMessage {
  if (typeof value !== 'object' || value === null) return false;
  const m = value as Record<string, unknown>;
  switch (m.type) {
    case 'ready':
    case 'export':
      return true;
    case 'rules':
      return checkRules(m.rules) !== undefined;
    case 'reveal':
      return typeof m.line === 'number' && Number.isInteger(m.line) && m.line >= 1;
    case 'copy':
      return typeof m.text === 'string';
    default:
      return false;
  }
}

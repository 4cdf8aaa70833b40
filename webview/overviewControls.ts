/**
 * The rule controls: each rule is a checkbox that turns it on and a number (thresholds also get a
 * slider) — native inputs, so the keyboard and screen readers work as everywhere else. Built once;
 * later overviews only enable or disable them, so focus and half-typed values survive updates.
 */
import type { MetricName, OverviewRules } from '../src/protocol/overview';
import { h } from './dom';

interface RuleControl {
  id: keyof OverviewRules;
  label: string;
  /** The metric the rule needs (disabled when the settings do not compute it). */
  metric?: MetricName;
  /** Number input: min, max, step; `percent`: shown in %, sent as a fraction. */
  range?: { min: number; max: number; step: number; percent?: boolean; slider?: boolean };
  initial: number;
  on: boolean;
  help: string;
}

const CONTROLS: RuleControl[] = [
  { id: 'selfConsistent', label: 'Self-consistency', initial: 0, on: false, help: 'Question/answer data: keep answers that agree with the majority answer of their question (IWSI).' },
  { id: 'ifdMax', label: 'IFD below', metric: 'ifd', range: { min: 0, max: 3, step: 0.01, slider: true }, initial: 1, on: true, help: 'Drop IFD at or above this (Cherry, Superfiltering: 1).' },
  { id: 'rifdMax', label: 'r-IFD below', metric: 'rifd', range: { min: 0, max: 3, step: 0.01, slider: true }, initial: 1, on: false, help: 'Drop r-IFD at or above this (Selective Reflection-Tuning: 1).' },
  { id: 'dsKeepFraction', label: 'Lowest DS %', metric: 'ds', range: { min: 1, max: 100, step: 1, percent: true }, initial: 50, on: false, help: 'Keep this share with the lowest DS weight (IWSI).' },
  { id: 'topFraction', label: 'Top % by IFD', metric: 'ifd', range: { min: 1, max: 100, step: 1, percent: true }, initial: 10, on: false, help: 'Of what passes the rules above, keep this share with the highest IFD (Cherry).' },
];

export interface RuleForm {
  element: HTMLElement;
  rules(): OverviewRules;
  /** Enables the rules whose metric is computed; `readOnly` (the report) disables every control. */
  enable(metrics: readonly MetricName[], readOnly: boolean): void;
  set(rules: OverviewRules): void;
}

export function ruleForm(onChange: (rules: OverviewRules) => void): RuleForm {
  const boxes = new Map<keyof OverviewRules, HTMLInputElement>();
  const numbers = new Map<keyof OverviewRules, HTMLInputElement>();
  const sliders = new Map<keyof OverviewRules, HTMLInputElement>();
  const notes = new Map<keyof OverviewRules, HTMLElement>();
  const rules = (): OverviewRules => {
    const out: OverviewRules = {};
    for (const c of CONTROLS) {
      const box = boxes.get(c.id)!;
      if (!box.checked || box.disabled) continue;
      if (c.id === 'selfConsistent') {
        out.selfConsistent = true;
        continue;
      }
      const value = Number(numbers.get(c.id)!.value);
      if (!Number.isFinite(value) || numbers.get(c.id)!.value.trim() === '') continue;
      const v = c.range?.percent ? Math.min(100, Math.max(c.range.min, value)) / 100 : value;
      (out as Record<string, number>)[c.id] = v;
    }
    return out;
  };
  const changed = (): void => onChange(rules());
  const rows = CONTROLS.map((c) => {
    const id = `rule-${c.id}`;
    const box = h('input', { attrs: { type: 'checkbox', id, 'aria-describedby': `${id}-help`, ...(c.on ? { checked: true } : {}) }, on: { change: changed } }) as HTMLInputElement;
    boxes.set(c.id, box);
    const parts: (HTMLElement | string)[] = [box, h('label', { attrs: { for: id } }, c.label)];
    if (c.range) {
      const r = c.range;
      const number = h('input', { class: 'rule-number', attrs: { type: 'number', min: String(r.min), max: String(r.max), step: String(r.step), value: String(c.initial), 'aria-label': `${c.label}${r.percent ? ' (percent)' : ''}` } }) as HTMLInputElement;
      numbers.set(c.id, number);
      number.addEventListener('input', () => {
        const slider = sliders.get(c.id);
        if (slider) slider.value = number.value;
        if (!box.checked) box.checked = true;
        changed();
      });
      parts.push(number);
      if (r.percent) parts.push('%');
      if (r.slider) {
        const slider = h('input', { class: 'rule-slider', attrs: { type: 'range', min: String(r.min), max: String(r.max), step: String(r.step), value: String(c.initial), 'aria-label': `${c.label}, slider` } }) as HTMLInputElement;
        sliders.set(c.id, slider);
        slider.addEventListener('input', () => {
          number.value = slider.value;
          if (!box.checked) box.checked = true;
          changed();
        });
        parts.push(slider);
      }
    }
    const note = h('span', { class: 'rule-help', attrs: { id: `${id}-help` } }, c.help);
    notes.set(c.id, note);
    return h('div', { class: 'rule' }, ...parts, note);
  });
  const element = h('fieldset', { class: 'rules' }, h('legend', {}, 'Selection rules (applied in this order, as sift filter does)'), ...rows);
  return {
    element,
    rules,
    enable(metrics, readOnly) {
      for (const c of CONTROLS) {
        const missing = c.metric !== undefined && !metrics.includes(c.metric);
        const disabled = readOnly || missing;
        for (const input of [boxes.get(c.id), numbers.get(c.id), sliders.get(c.id)]) if (input) input.disabled = disabled;
        notes.get(c.id)!.textContent = missing ? `${c.help} Not available: the settings do not compute ${c.metric === 'ds' ? 'DS (set sift.dsValidSet)' : c.metric} (sift.metrics).` : c.help;
      }
    },
    set(r) {
      for (const c of CONTROLS) {
        const value = r[c.id];
        boxes.get(c.id)!.checked = value !== undefined && value !== false;
        if (typeof value === 'number') {
          const shown = String(c.range?.percent ? Number((value * 100).toPrecision(12)) : value);
          numbers.get(c.id)!.value = shown;
          const slider = sliders.get(c.id);
          if (slider) slider.value = shown;
        }
      }
    },
  };
}

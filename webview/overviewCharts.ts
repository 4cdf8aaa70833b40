/**
 * The overview's charts, drawn with uPlot from pre-binned data: the canvas gets one rectangle per
 * bin or cell however many records the file has. uPlot draws the axes and scales; the bars, the
 * density cells and the rule lines are drawn in its `draw` hook. Colours come from the theme's
 * variables, read again whenever the theme changes.
 */
import uPlot from 'uplot';
import type { Density, Histogram } from '../src/protocol/overview';

export interface ChartColors {
  background: string;
  text: string;
  grid: string;
  all: string;
  kept: string;
  dropped: string;
  rule: string;
}

export function themeColors(): ChartColors {
  const css = getComputedStyle(document.body);
  const v = (name: string, fallback: string): string => css.getPropertyValue(name).trim() || fallback;
  return {
    background: v('--sift-bg', '#fff'),
    text: v('--sift-text', '#444'),
    grid: v('--sift-grid', 'rgba(128,128,128,0.25)'),
    all: v('--sift-all', 'rgba(128,128,128,0.55)'),
    kept: v('--sift-kept', '#3b82f6'),
    dropped: v('--sift-dropped', '#e5534b'),
    rule: v('--sift-rule', '#d29922'),
  };
}

/** A vertical or horizontal rule line across the plot, with its label. */
export interface RuleLine {
  axis: 'x' | 'y';
  at: number;
  label: string;
}

function axes(colors: ChartColors, xLabel: string, yLabel: string): uPlot.Axis[] {
  const axis = (label: string): uPlot.Axis => ({ label, stroke: colors.text, grid: { stroke: colors.grid, width: 1 }, ticks: { stroke: colors.grid, width: 1 }, labelSize: 18, size: 44 });
  return [axis(xLabel), axis(yLabel)];
}

function drawRules(u: uPlot, rules: readonly RuleLine[], colors: ChartColors): void {
  const ctx = u.ctx;
  const { left, top, width, height } = u.bbox;
  ctx.save();
  ctx.strokeStyle = colors.rule;
  ctx.fillStyle = colors.rule;
  ctx.lineWidth = 2 * uPlot.pxRatio;
  ctx.setLineDash([6 * uPlot.pxRatio, 4 * uPlot.pxRatio]);
  ctx.textBaseline = 'alphabetic';
  const px = uPlot.pxRatio;
  ctx.font = `${Math.round(11 * px)}px sans-serif`;
  // A label on the theme's background, so bars under it cannot hide it.
  const label = (text: string, x: number, y: number): void => {
    const w = ctx.measureText(text).width;
    ctx.fillStyle = colors.background;
    ctx.fillRect(x - 2 * px, y - 11 * px, w + 4 * px, 14 * px);
    ctx.fillStyle = colors.rule;
    ctx.fillText(text, x, y);
  };
  for (const rule of rules) {
    ctx.beginPath();
    if (rule.axis === 'x') {
      const x = u.valToPos(rule.at, 'x', true);
      if (x < left || x > left + width) continue;
      ctx.moveTo(x, top);
      ctx.lineTo(x, top + height);
      ctx.stroke();
      label(rule.label, Math.min(x + 4 * px, left + width - ctx.measureText(rule.label).width - 2 * px), top + 12 * px);
    } else {
      const y = u.valToPos(rule.at, 'y', true);
      if (y < top || y > top + height) continue;
      ctx.moveTo(left, y);
      ctx.lineTo(left + width, y);
      ctx.stroke();
      label(rule.label, left + width - ctx.measureText(rule.label).width - 4 * px, y - 4 * px);
    }
  }
  ctx.restore();
}

const HEIGHT = 200;

/** A histogram: every scored record in the muted colour, the kept ones over it in the accent colour (`yLabel`: what is counted). */
export function histogramChart(target: HTMLElement, h: Pick<Histogram, 'lo' | 'width' | 'total' | 'kept'>, rules: readonly RuleLine[], colors: ChartColors, xLabel: string, yLabel = 'records'): uPlot {
  const bins = h.total.length;
  const hi = h.lo + h.width * bins;
  const centres = h.total.map((_, i) => h.lo + (i + 0.5) * h.width);
  const max = Math.max(1, ...h.total);
  const bar = (u: uPlot, counts: readonly number[], color: string): void => {
    const ctx = u.ctx;
    ctx.fillStyle = color;
    const y0 = u.valToPos(0, 'y', true);
    counts.forEach((n, i) => {
      if (n === 0) return;
      const x0 = u.valToPos(h.lo + i * h.width, 'x', true);
      const x1 = u.valToPos(h.lo + (i + 1) * h.width, 'x', true);
      const y = u.valToPos(n, 'y', true);
      ctx.fillRect(x0 + 0.5, y, Math.max(1, x1 - x0 - 1), y0 - y);
    });
  };
  const options: uPlot.Options = {
    width: Math.max(200, target.clientWidth),
    height: HEIGHT,
    legend: { show: false },
    cursor: { show: false },
    scales: { x: { time: false, range: [h.lo, hi] }, y: { range: [0, max * 1.08] } },
    axes: axes(colors, xLabel, yLabel),
    series: [{}, { paths: () => null, points: { show: false } }],
    hooks: {
      draw: [
        (u) => {
          bar(u, h.total, colors.all);
          bar(u, h.kept, colors.kept);
          drawRules(u, rules, colors);
        },
      ],
    },
  };
  return new uPlot(options, [centres, h.total], target);
}

/** IFD against r-IFD: each cell's opacity grows with its count (log scale), coloured by what the rules do with most of it. */
export function densityChart(target: HTMLElement, d: Density, rules: readonly RuleLine[], colors: ChartColors): uPlot {
  const xHi = d.x.lo + d.x.width * d.x.bins;
  const yHi = d.y.lo + d.y.width * d.y.bins;
  const max = Math.max(1, ...d.total);
  const options: uPlot.Options = {
    width: Math.max(200, target.clientWidth),
    height: Math.max(220, Math.min(360, target.clientWidth * 0.7)),
    legend: { show: false },
    cursor: { show: false },
    scales: { x: { time: false, range: [d.x.lo, xHi] }, y: { range: [d.y.lo, yHi] } },
    axes: axes(colors, 'IFD', 'r-IFD'),
    series: [{}, { paths: () => null, points: { show: false } }],
    hooks: {
      draw: [
        (u) => {
          const ctx = u.ctx;
          ctx.save();
          for (let yi = 0; yi < d.y.bins; yi++) {
            for (let xi = 0; xi < d.x.bins; xi++) {
              const n = d.total[yi * d.x.bins + xi];
              if (n === 0) continue;
              const keptShare = d.kept[yi * d.x.bins + xi] / n;
              ctx.globalAlpha = 0.2 + (0.8 * Math.log1p(n)) / Math.log1p(max);
              ctx.fillStyle = keptShare >= 0.5 ? colors.kept : colors.dropped;
              const x0 = u.valToPos(d.x.lo + xi * d.x.width, 'x', true);
              const x1 = u.valToPos(d.x.lo + (xi + 1) * d.x.width, 'x', true);
              const y0 = u.valToPos(d.y.lo + yi * d.y.width, 'y', true);
              const y1 = u.valToPos(d.y.lo + (yi + 1) * d.y.width, 'y', true);
              ctx.fillRect(x0, y1, x1 - x0, y0 - y1);
            }
          }
          ctx.restore();
          drawRules(u, rules, colors);
        },
      ],
    },
  };
  return new uPlot(options, [[d.x.lo, xHi], [d.y.lo, yHi]], target);
}

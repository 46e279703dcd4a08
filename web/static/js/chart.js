// Time-series charts on uPlot (vendored). Colours come from the theme's CSS
// variables; charts follow theme changes and their container's width.

import uPlot from '../vendor/uplot/uPlot.esm.js';

function css(name) {
  return getComputedStyle(document.documentElement).getPropertyValue(name).trim();
}

/**
 * timeChart draws series over time into el and returns {set(data), destroy()}.
 * series: [{label, color: '--series-1'}]; data: [[unix seconds…], [values…]…].
 */
export function timeChart(el, {series, height = 220, yLabel = '', windowSeconds = 300}) {
  let plot = null;
  let data = [[], ...series.map(() => [])];
  const opts = () => {
    const grid = {stroke: css('--border'), width: 1};
    const axis = {stroke: css('--muted'), grid, ticks: grid, font: '11px system-ui, sans-serif'};
    return {
      width: Math.max(200, el.clientWidth || 600),
      height,
      cursor: {drag: {x: false, y: false}},
      legend: {live: true},
      scales: {x: {time: true, range: (u, min, max) => {
        const end = Number.isFinite(max) && max !== null ? max : Date.now() / 1000;
        return [Math.min(Number.isFinite(min) && min !== null ? min : end, end - windowSeconds), end];
      }}, y: {range: (u, min, max) => [0, Math.max(1, max * 1.1)]}},
      axes: [{...axis}, {...axis, label: yLabel, labelFont: '11px system-ui, sans-serif', size: 56}],
      series: [{}, ...series.map((s) => ({
        label: s.label, stroke: css(s.color), width: 2, fill: css(s.color) + '22',
        points: {show: false}, value: (u, v) => (v === null || v === undefined ? '—' : formatValue(v)),
      }))],
    };
  };
  const build = () => {
    if (plot) plot.destroy();
    plot = new uPlot(opts(), data, el);
  };
  build();
  const ro = new ResizeObserver(() => {
    if (plot && el.clientWidth) plot.setSize({width: el.clientWidth, height});
  });
  ro.observe(el);
  const rebuild = () => build();
  document.addEventListener('fjord:theme', rebuild);
  return {
    set(d) { data = d; plot.setData(d); },
    destroy() {
      ro.disconnect();
      document.removeEventListener('fjord:theme', rebuild);
      if (plot) plot.destroy();
      plot = null;
    },
  };
}

function formatValue(v) {
  if (Math.abs(v) >= 100 || Number.isInteger(v)) return Math.round(v).toLocaleString('en-US');
  return v.toFixed(2);
}

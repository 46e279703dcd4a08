// Reading the broker's Prometheus text exposition (GET /metrics) and turning
// counters into rates.

/** sumMetric adds up every sample of the named metric (all label sets). */
export function sumMetric(text, name) {
  let total = 0;
  let found = false;
  for (const line of text.split('\n')) {
    if (!line.startsWith(name)) continue;
    const rest = line.slice(name.length);
    if (rest[0] !== '{' && rest[0] !== ' ') continue;
    const valueStart = rest[0] === '{' ? rest.lastIndexOf('}') + 1 : 0;
    const v = parseFloat(rest.slice(valueStart).trim().split(/\s+/)[0]);
    if (Number.isFinite(v)) { total += v; found = true; }
  }
  return found ? total : 0;
}

/**
 * RateTracker turns successive samples of monotonically increasing counters
 * into per-second rates; a counter that went down (a broker restart) starts
 * over from its new value.
 */
export class RateTracker {
  constructor(names) {
    this.names = names;
    this.prev = null;
  }

  /** add records counters read at time t (ms) and returns their rates, or null on the first sample. */
  add(t, values) {
    const prev = this.prev;
    this.prev = {t, values};
    if (!prev || t <= prev.t) return null;
    const dt = (t - prev.t) / 1000;
    const out = {};
    for (const n of this.names) {
      const d = values[n] - prev.values[n];
      out[n] = d >= 0 ? d / dt : values[n] / dt;
    }
    return out;
  }
}

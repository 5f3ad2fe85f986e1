// Parsing Nagios plugin output: `TEXT | perfdata` on the first line, optional long text after it,
// where a `|` in the long text starts more perfdata (Nagios plugin guidelines).

export interface PerfDatum {
  label: string;
  value: number | null;
  uom: string;
  warn?: string;
  crit?: string;
  min?: number;
  max?: number;
}

export interface PluginOutput {
  text: string;
  longText: string;
  perfdata: PerfDatum[];
}

export function parsePluginOutput(raw: string): PluginOutput {
  const lines = raw.replace(/\r\n/g, '\n').replace(/\n+$/, '').split('\n');
  const [first = '', ...rest] = lines;
  const bar = first.indexOf('|');
  const text = (bar >= 0 ? first.slice(0, bar) : first).trim();
  const perfTexts: string[] = bar >= 0 ? [first.slice(bar + 1)] : [];
  const longLines: string[] = [];
  let inPerf = false;
  for (const line of rest) {
    if (inPerf) {
      perfTexts.push(line);
      continue;
    }
    const b = line.indexOf('|');
    if (b >= 0) {
      longLines.push(line.slice(0, b));
      perfTexts.push(line.slice(b + 1));
      inPerf = true;
    } else {
      longLines.push(line);
    }
  }
  return { text, longText: longLines.join('\n').trim(), perfdata: perfTexts.flatMap(parsePerfdata) };
}

// label=value[UOM];[warn];[crit];[min];[max]; labels may be quoted with single quotes.
const PERF = /('(?:[^']|'')+'|[^\s=']+)=([^\s]*)/g;

export function parsePerfdata(text: string): PerfDatum[] {
  const out: PerfDatum[] = [];
  for (const m of text.matchAll(PERF)) {
    const label = m[1].startsWith("'") ? m[1].slice(1, -1).replace(/''/g, "'") : m[1];
    const [valueUom = '', warn, crit, min, max] = m[2].split(';');
    const vm = /^(-?[0-9.]+(?:[eE][-+]?\d+)?)(.*)$/.exec(valueUom);
    out.push({
      label,
      value: vm ? Number(vm[1]) : null,
      uom: vm ? vm[2] : '',
      ...(warn ? { warn } : {}),
      ...(crit ? { crit } : {}),
      ...(min && Number.isFinite(Number(min)) ? { min: Number(min) } : {}),
      ...(max && Number.isFinite(Number(max)) ? { max: Number(max) } : {}),
    });
  }
  return out;
}

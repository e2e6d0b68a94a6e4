/**
 * `npx tsx bench/prof.ts FILE.cpuprofile [--top N] [--last MS]`: the functions that took the
 * most CPU in a V8 profile (as written by `npm run bench -- --cpu-prof DIR`), by self time and
 * by total time (self plus callees), optionally only over the profile's last MS milliseconds
 * (the scenario's window, without the start-up before it).
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

function label(n: ProfileNode): string {
  const { functionName, url, lineNumber } = n.callFrame;
  const file = url ? path.basename(url.replace(/^file:\/\//, '')) : '';
  return `${functionName || '(anonymous)'}${file ? ` ${file}:${lineNumber + 1}` : ''}`;
}

function main(): void {
  const { values, positionals } = parseArgs({ allowPositionals: true, options: { top: { type: 'string' }, last: { type: 'string' } } });
  const file = positionals[0];
  if (!file) {
    console.error('usage: npx tsx bench/prof.ts FILE.cpuprofile [--top N] [--last MS]');
    process.exit(2);
  }
  const top = Number(values.top ?? 25);
  const prof = JSON.parse(readFileSync(file, 'utf8')) as Profile;
  const byId = new Map(prof.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of prof.nodes) for (const c of n.children ?? []) parent.set(c, n.id);

  // Sample i was taken at startTime + sum(timeDeltas[0..i]); it stands for the time until the next.
  const times: number[] = [];
  let t = prof.startTime;
  for (const d of prof.timeDeltas) times.push((t += d));
  const from = values.last === undefined ? -Infinity : prof.endTime - Number(values.last) * 1000;
  const self = new Map<string, number>();
  const total = new Map<string, number>();
  let window = 0;
  let busy = 0;
  for (let i = 0; i < prof.samples.length; i++) {
    if (times[i]! < from) continue;
    const dt = (times[i + 1] ?? prof.endTime) - times[i]!;
    window += dt;
    const leaf = byId.get(prof.samples[i]!)!;
    const name = label(leaf);
    if (leaf.callFrame.functionName !== '(idle)') busy += dt;
    self.set(name, (self.get(name) ?? 0) + dt);
    const seen = new Set<string>();
    for (let id: number | undefined = leaf.id; id !== undefined; id = parent.get(id)) {
      const l = label(byId.get(id)!);
      if (seen.has(l)) continue;
      seen.add(l);
      total.set(l, (total.get(l) ?? 0) + dt);
    }
  }
  const ms = (us: number) => (us / 1000).toFixed(1).padStart(8);
  console.log(`window ${ms(window)} ms, busy (not idle) ${ms(busy)} ms`);
  for (const [title, map] of [['self', self], ['total', total]] as const) {
    console.log(`\n${title} ms  function`);
    for (const [name, us] of [...map].sort((a, b) => b[1] - a[1]).slice(0, top)) console.log(`${ms(us)}  ${name}`);
  }
}

main();

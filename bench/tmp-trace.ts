import { writeFileSync } from 'node:fs';
import { defineCluster, md5, md5File, startCluster, stopAll, waitFor } from '../test/helpers/cluster.js';
const { root, nodes } = await defineCluster({ files: { 'bench.conf': 'start\n' } });
const [a, b] = await startCluster(nodes);
const W: number[] = []; const V: number[] = [];
for (let i = 0; i < 60; i++) { const d = `x${i}`.padEnd(1024, 'a'); writeFileSync(a!.file('bench.conf'), d); W.push(performance.timeOrigin + performance.now()); await waitFor('c', () => md5File(b!.file('bench.conf')) === md5(d), 5000, 0); V.push(performance.timeOrigin + performance.now()); await new Promise(r => setTimeout(r, 40)); }
await new Promise(r => setTimeout(r, 200));
const tr = b!.logs.filter(l => l.msg === 'TRACE').map(l => l.TR as any);
const pub = a!.logs.filter(l => l.msg === 'local change published').map(l => l.TR as any);
const med = (xs: number[]) => { const s = xs.filter(Number.isFinite).sort((p, q) => p - q); return s[Math.floor(s.length / 2)]!.toFixed(3); };
const n = Math.min(W.length, pub.length, tr.length);
const rows = [...Array(n).keys()].slice(10);
console.log('write->event', med(rows.map(i => pub[i].ev - W[i]!)));
console.log('event->publish', med(rows.map(i => pub[i].pub - pub[i].ev)));
console.log('publish->recv', med(rows.map(i => tr[i].wRecv - pub[i].pub)));
console.log('recv->applied', med(rows.map(i => tr[i].done - tr[i].wRecv)));
console.log('applied->seen by poller', med(rows.map(i => V[i]! - tr[i].done)));
console.log('total', med(rows.map(i => V[i]! - W[i]!)), 'n', n, pub.length, tr.length);
await stopAll([a!, b!], root);

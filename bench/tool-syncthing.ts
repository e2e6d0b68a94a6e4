/**
 * syncthing as its users run it for the lowest latency: two instances on loopback (each its own
 * home with its own key, from `syncthing generate`), introduced to each other by device ID with
 * a static tcp://127.0.0.1 address, one shared folder (A on one, B on the other) with the file
 * watcher on at its smallest delay, 1 s (syncthing 1.19 reads fsWatcherDelayS as a whole number
 * and turns the watcher off at 0), rescans hourly, and nothing that reaches beyond the machine:
 * no global or local discovery, relays, NAT traversal, usage or crash reports, upgrades. Each
 * has its REST API on a loopback port with an API key; the run starts once both are connected,
 * the folder is idle on both and B holds A's file.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { freePorts, md5File } from '../test/helpers/cluster.js';
import { until } from './context.js';
import { runOnce, spawnTool } from './tool-process.js';
import type { ToolRun, ToolVariant } from './tools.js';

const FOLDER = 'bench';
/** The smallest watcher delay syncthing 1.19 accepts (an integer; 0 turns the watcher off). */
const WATCHER_DELAY_S = 1;
const READY_MS = 45_000;

interface Instance {
  name: string;
  home: string;
  dir: string;
  id: string;
  listen: number;
  gui: number;
  apiKey: string;
}

function configXml(me: Instance, peer: Instance): string {
  const device = (d: Instance) => `    <device id="${d.id}" name="${d.name}" compression="metadata" introducer="false">\n        <address>tcp://127.0.0.1:${d.listen}</address>\n    </device>`;
  return `<configuration version="36">
    <folder id="${FOLDER}" label="${FOLDER}" path="${me.dir}" type="sendreceive" rescanIntervalS="3600" fsWatcherEnabled="true" fsWatcherDelayS="${WATCHER_DELAY_S}" ignorePerms="false" autoNormalize="true">
        <filesystemType>basic</filesystemType>
        <device id="${me.id}"></device>
        <device id="${peer.id}"></device>
    </folder>
${device(me)}
${device(peer)}
    <gui enabled="true" tls="false">
        <address>127.0.0.1:${me.gui}</address>
        <apikey>${me.apiKey}</apikey>
    </gui>
    <options>
        <listenAddress>tcp://127.0.0.1:${me.listen}</listenAddress>
        <globalAnnounceEnabled>false</globalAnnounceEnabled>
        <localAnnounceEnabled>false</localAnnounceEnabled>
        <relaysEnabled>false</relaysEnabled>
        <natEnabled>false</natEnabled>
        <startBrowser>false</startBrowser>
        <urAccepted>-1</urAccepted>
        <autoUpgradeIntervalH>0</autoUpgradeIntervalH>
        <crashReportingEnabled>false</crashReportingEnabled>
        <setLowPriority>false</setLowPriority>
    </options>
</configuration>
`;
}

async function rest<T>(i: Instance, route: string): Promise<T> {
  const res = await fetch(`http://127.0.0.1:${i.gui}${route}`, { headers: { 'X-API-Key': i.apiKey }, signal: AbortSignal.timeout(2000) });
  if (!res.ok) throw new Error(`${i.name} ${route}: HTTP ${res.status}`);
  return (await res.json()) as T;
}

interface FolderStatus {
  state: string;
  needTotalItems: number;
  errors: number;
}

/** What keeps `i` from being ready, or null: connected to `peer`, the folder idle with nothing needed. */
async function notReady(i: Instance, peer: Instance): Promise<string | null> {
  const conns = await rest<{ connections: Record<string, { connected: boolean }> }>(i, '/rest/system/connections');
  if (!conns.connections[peer.id]?.connected) return `${i.name} not connected to ${peer.name}`;
  const st = await rest<FolderStatus>(i, `/rest/db/status?folder=${FOLDER}`);
  if (st.state !== 'idle' || st.needTotalItems > 0) return `${i.name}'s folder ${st.state}, ${st.needTotalItems} items needed`;
  const done = await rest<{ completion: number }>(i, `/rest/db/completion?folder=${FOLDER}&device=${peer.id}`);
  if (done.completion < 100) return `${peer.name} ${done.completion}% complete as ${i.name} sees it`;
  return null;
}

async function start({ ctx, root, a, b, bin }: ToolRun): Promise<number[]> {
  const syncthing = bin('syncthing');
  const [la, ga, lb, gb] = await freePorts(4);
  const instances: Instance[] = [];
  for (const [name, dir, listen, gui] of [['syncthing-a', a, la, ga], ['syncthing-b', b, lb, gb]] as const) {
    const home = path.join(root, name);
    await runOnce(syncthing, ['generate', '--home', home, '--no-default-folder', '--skip-port-probing']);
    const id = (await runOnce(syncthing, ['serve', '--home', home, '--device-id'])).trim();
    if (!/^[A-Z0-9]{7}(-[A-Z0-9]{7}){7}$/.test(id)) throw new Error(`syncthing --device-id printed '${id.slice(0, 80)}', not a device ID`);
    mkdirSync(path.join(dir, '.stfolder'), { recursive: true }); // the folder marker
    instances.push({ name, home, dir, id, listen: listen!, gui: gui!, apiKey: randomBytes(16).toString('hex') });
  }
  const [ia, ib] = instances as [Instance, Instance];
  // B starts without the file and receives it from A, so the two never hold unrelated versions of it.
  rmSync(path.join(b, 'bench.dat'), { force: true });
  writeFileSync(path.join(ia.home, 'config.xml'), configXml(ia, ib));
  writeFileSync(path.join(ib.home, 'config.xml'), configXml(ib, ia));
  const pids = instances.map(
    (i) => spawnTool(ctx, i.name, syncthing, ['serve', '--home', i.home, '--no-browser', '--no-restart', '--no-upgrade'], { dir: root, env: { STNODEFAULTFOLDER: '1', STNOUPGRADE: '1' } }).pid,
  );
  let last = '';
  await until(
    'both syncthing instances connected, the folder idle on both and B holding A\'s file',
    async () => {
      last = (await notReady(ia, ib)) ?? (await notReady(ib, ia)) ?? '';
      if (!last && md5File(path.join(b, 'bench.dat')) !== md5File(path.join(a, 'bench.dat'))) last = "B's copy differs from A's";
      return last === '';
    },
    { timeoutMs: READY_MS, everyMs: 200, signal: ctx.signal },
  ).catch((err: unknown) => {
    throw new Error(`${err instanceof Error ? err.message : String(err)}${last ? ` (${last})` : ''}`);
  });
  return pids;
}

export const SYNCTHING_VARIANTS: ToolVariant[] = [
  {
    tool: 'syncthing',
    variant: `fsWatcherDelayS = ${WATCHER_DELAY_S}`,
    binary: 'syncthing',
    needs: [],
    shown: `two syncthing serve instances on 127.0.0.1 (own homes, devices by ID, tcp://127.0.0.1 addresses; discovery, relays, NAT off), folder A / B with fsWatcherEnabled, fsWatcherDelayS = ${WATCHER_DELAY_S}, rescanIntervalS = 3600`,
    minGapMs: 0,
    // Its watcher hands changes to the scanner on a timer of fsWatcherDelayS (0.5-1.5 delays after the change, its source says).
    jitterMs: WATCHER_DELAY_S * 1000,
    note: `fsWatcherDelayS = ${WATCHER_DELAY_S} is the least syncthing 1.19 accepts (a whole number of seconds; 0 turns the watcher off); its watcher passes changes on at regular intervals of that delay, so spacing has a random 0-${WATCHER_DELAY_S * 1000} ms added and changes land at every phase of it`,
    start,
  },
];

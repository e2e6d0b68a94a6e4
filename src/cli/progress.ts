import type { NodeState, TransferView } from '../node/view.js';
import { EventStream, type ServerEvent } from './event-stream.js';
import type { ApiTarget } from './http.js';

type FileDoc = NodeState['files'][number];

/** A transfer's share done, as a peer's cell shows it: "0%" to "100%". */
export function percent(t: Pick<TransferView, 'bytes' | 'total'>): string {
  return `${t.total > 0 ? Math.min(100, Math.floor((t.bytes * 100) / t.total)) : 100}%`;
}

const mib = (bytes: number) => (bytes / 1048576).toFixed(bytes < 10 * 1048576 ? 1 : 0);

/** The narrowest bar, and the shortest name shown before the line gives up its details. */
const MIN_BAR = 10;
const MIN_LABEL = 12;

/**
 * One line of progress, at most `width - 1` columns (the last column of a terminal wraps):
 * `big.bin from beta [########--------]  42% 134/320 MiB`. The bar takes what is left, at
 * least 10 columns; on a narrow terminal the sizes go first, then the peer, and a name still
 * too long is shortened from the left with an ellipsis.
 */
export function progressLine(file: string, peer: string, t: TransferView, width: number): string {
  const room = Math.max(MIN_BAR + MIN_LABEL + 8, width - 1);
  const who = ` ${t.direction === 'in' ? 'from' : 'to'} ${peer}`;
  const share = ` ${percent(t).padStart(4)}`;
  const sizes = ` ${mib(t.bytes)}/${mib(t.total)} MiB`;
  const variants = [`${who}|${share}${sizes}`, `${who}|${share}`, `|${share}`];
  for (const [i, v] of variants.entries()) {
    const [before, after] = v.split('|') as [string, string];
    const fixed = before.length + after.length + 3;
    const labelRoom = room - fixed - MIN_BAR;
    if (labelRoom < Math.min(file.length, MIN_LABEL) && i < variants.length - 1) continue;
    const label = file.length <= labelRoom ? file : `…${file.slice(-(labelRoom - 1))}`;
    const bar = room - fixed - label.length;
    const done = t.total > 0 ? Math.min(bar, Math.floor((bar * t.bytes) / t.total)) : bar;
    return `${label}${before} [${'#'.repeat(done)}${'-'.repeat(bar - done)}]${after}`;
  }
  return file;
}

/** What the bar follows: the files asked for (names or paths; all when absent) with one peer (any when absent). */
export interface ProgressScope {
  readonly files?: readonly string[];
  readonly peer?: string;
}

/** The first transfer running in `files` within `scope`, with its file and peer. */
export function pickTransfer(files: Iterable<FileDoc>, scope: ProgressScope): { file: string; peer: string; transfer: TransferView } | null {
  for (const f of files) {
    if (scope.files && !scope.files.includes(f.name) && !scope.files.includes(f.path)) continue;
    for (const [peer, v] of Object.entries(f.peers)) {
      if (v.transfer && (scope.peer === undefined || scope.peer === peer)) return { file: f.name, peer, transfer: v.transfer };
    }
  }
  return null;
}

/**
 * Draws a progress bar on `out` (a terminal) for the transfers in `scope` while an operation
 * runs, following the node's event stream (GET /api/1/events); a stream that fails just draws
 * nothing. The returned stop() ends the stream and clears the line.
 */
export function followProgress(target: ApiTarget, scope: ProgressScope, out: NodeJS.WriteStream): { stop(): void } {
  let stream: EventStream | null = null;
  const files = new Map<string, FileDoc>();
  let drawn = false;
  let stopped = false;
  const draw = () => {
    if (stopped) return;
    const t = pickTransfer(files.values(), scope);
    if (t) {
      out.write(`\r${progressLine(t.file, t.peer, t.transfer, out.columns || 80)}\u001b[K`);
      drawn = true;
    } else if (drawn) {
      out.write('\r\u001b[K');
      drawn = false;
    }
  };
  const onEvent = ({ event, data }: ServerEvent) => {
    if (event === 'state') {
      files.clear();
      for (const f of (JSON.parse(data) as NodeState).files) files.set(f.name, f);
    } else if (event === 'file') {
      const f = JSON.parse(data) as FileDoc;
      files.set(f.name, f);
    } else return;
    draw();
  };
  // A stream that cannot be opened just draws nothing.
  EventStream.open(target, '/api/1/events', onEvent).then(
    (s) => {
      if (stopped) s.close();
      else stream = s;
    },
    () => undefined,
  );
  return {
    stop() {
      if (stopped) return;
      stopped = true;
      stream?.close();
      if (drawn) out.write('\r\u001b[K');
    },
  };
}

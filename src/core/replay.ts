/**
 * Replay protection of signed requests. Over CURVE every request a node sends carries its
 * epoch (its per-start incarnation) and a counter, both under the request's signature. The
 * counter is per peer and strictly increasing; each run starts it from its start time in
 * microseconds, so a later run counts above anything an earlier run sent (it would have to send
 * more than a million requests a second to catch up with the clock). The replier keeps, per
 * peer, the highest counter it accepted and which of the WINDOW below it it accepted too.
 */

/**
 * How far below the highest counter a request may still arrive: a REQ socket recreated after a
 * timeout sends its next request over a new connection, and ROUTER fair-queues between
 * connections, so the one given up on may be read after it.
 */
export const REPLAY_WINDOW = 64;

/** What a signed request says of when it was sent: the sender's run and its counter. */
export interface RequestStamp {
  readonly epoch: string;
  readonly counter: number;
}

/** What the replier has accepted from one peer: its run, its highest counter, and the others accepted within the window. */
export interface ReplayState {
  readonly epoch: string;
  readonly highest: number;
  /**
   * Nothing at or below it is taken: REPLAY_WINDOW below `highest`, or, for a run first seen
   * less than that ago, the first counter taken from it (what came before is not known).
   */
  readonly floor: number;
  /** Counters between `floor` and `highest` already taken, ascending. */
  readonly below: readonly number[];
}

export type ReplayRefusal = 'replayed' | 'earlier run' | 'too old';

export type ReplayVerdict =
  | { readonly accept: true; readonly state: ReplayState }
  | { readonly accept: false; readonly reason: ReplayRefusal };

/** Whether a request with a valid signature and `stamp` is taken, given what was accepted from its sender (null: nothing since this node started). */
export function admitRequest(state: ReplayState | null, stamp: RequestStamp): ReplayVerdict {
  const fresh = (): ReplayVerdict => ({ accept: true, state: { epoch: stamp.epoch, highest: stamp.counter, floor: stamp.counter, below: [] } });
  // Nothing accepted from this peer since this node started: its first request is taken, and
  // from then on only later ones (a request it sent before is not known from a replay).
  if (state === null) return fresh();
  // Above anything accepted: this run's next request, or a later run's first (it counts from a later time).
  if (stamp.counter > state.highest) {
    if (stamp.epoch !== state.epoch) return fresh();
    const floor = Math.max(state.floor, stamp.counter - REPLAY_WINDOW);
    const below = [...state.below, state.highest].filter((n) => n > floor);
    return { accept: true, state: { epoch: state.epoch, highest: stamp.counter, floor, below } };
  }
  // At or below the highest, from another run: an earlier one (a later one counts higher).
  if (stamp.epoch !== state.epoch) return { accept: false, reason: 'earlier run' };
  if (stamp.counter === state.highest || state.below.includes(stamp.counter)) return { accept: false, reason: 'replayed' };
  // Below the window, or from before this run was first seen here: whether it was taken is not known.
  if (stamp.counter <= state.floor) return { accept: false, reason: 'too old' };
  // A request of this run read late (its requester timed out and went on over a new socket).
  const below = [...state.below, stamp.counter].sort((a, b) => a - b);
  return { accept: true, state: { ...state, below } };
}

/** The first counter of a run that starts at wall time `startMs` (see the module comment). */
export function firstCounter(startMs: number): number {
  return Math.floor(startMs) * 1000;
}

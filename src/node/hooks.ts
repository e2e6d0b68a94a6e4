import type { FileSpec, Settings } from '../config/settings.js';
import type { Md5 } from '../core/types.js';
import { fillTemplate } from '../core/validate-template.js';
import { runShell, shellFailure, shellQuote, type ShellResult } from '../io/shell.js';
import type { Logger } from '../log.js';

/** The hooks' names as they appear in config and logs. */
export const HOOK = {
  validate: 'validate',
  onApply: 'onApply',
  onPeerDown: 'onPeerDown',
  onPeerUp: 'onPeerUp',
  onSplitBrain: 'onSplitBrain',
} as const;
export type HookName = (typeof HOOK)[keyof typeof HOOK];

/** Alerts queued beyond this are dropped (with a warning): a storm must not fork without end. */
const MAX_QUEUED = 256;
/** Alert commands running at once. */
const PARALLEL = 2;

interface Alert {
  readonly hook: HookName;
  readonly command: string;
  readonly env: Record<string, string>;
  readonly log: Logger;
}

/**
 * Runs the operator's shell commands: `validate` (awaited by the write it guards), `onApply`
 * (after a peer's version or a force was written; coalesced per file: a burst of applies runs
 * it once more after the current run, with the newest md5) and the cluster alerts (queued,
 * a few at a time). Every run is logged with its exit code and output; none throws.
 */
export class HookRunner {
  readonly #node: string;
  #hooks: Settings['hooks'];
  readonly #log: Logger;
  readonly #applying = new Map<string, { again: (() => void) | null }>();
  readonly #alerts: Alert[] = [];
  #running = 0;
  #dropped = 0;

  constructor(settings: Settings, log: Logger) {
    this.#node = settings.node;
    this.#hooks = settings.hooks;
    this.#log = log;
  }

  /** A reload's hooks (and timeout) apply from the next run on; runs in progress keep theirs. */
  update(settings: Settings): void {
    this.#hooks = settings.hooks;
  }

  #env(spec: FileSpec | null, vars: { md5?: Md5 | null; peer?: string }): Record<string, string> {
    const env: Record<string, string> = { ENTANGLED_NODE: this.#node };
    if (spec) {
      env.ENTANGLED_NAME = spec.name;
      env.ENTANGLED_PATH = spec.path;
    }
    if (vars.md5) env.ENTANGLED_MD5 = vars.md5;
    if (vars.peer) env.ENTANGLED_PEER = vars.peer;
    return env;
  }

  async #run(hook: HookName, command: string, env: Record<string, string>, log: Logger): Promise<ShellResult> {
    const r = await runShell(command, env, this.#hooks.timeoutMs);
    const failure = shellFailure(r);
    const fields = { hook, code: r.code, ms: r.ms, ...(r.stdout && { stdout: r.stdout }), ...(r.stderr && { stderr: r.stderr }) };
    if (failure === null) log.info(fields, `hook ${hook} ran`);
    else log.warn({ ...fields, err: failure }, `hook ${hook} failed`);
    return r;
  }

  /**
   * Runs the file's validate command on the staged temp file (`{}` is its quoted path, also in
   * $ENTANGLED_TEMP; a `"{}"` or `'{}'` loses its own quotes: see core/validate-template.ts).
   * Resolves null when it passed (or there is none), else one line saying how it failed.
   */
  async validate(spec: FileSpec, tempPath: string, md5: Md5, peer: string | null, log: Logger): Promise<string | null> {
    if (spec.validate === null) return null;
    const command = fillTemplate(spec.validate, shellQuote(tempPath));
    const r = await this.#run(HOOK.validate, command, { ...this.#env(spec, { md5, peer: peer ?? undefined }), ENTANGLED_TEMP: tempPath }, log);
    return shellFailure(r);
  }

  /** Runs the file's onApply command after `md5` was written; never undoes anything. */
  applied(spec: FileSpec, md5: Md5, peer: string | null, log: Logger): void {
    const command = spec.onApply;
    if (command === null) return;
    const env = this.#env(spec, { md5, peer: peer ?? undefined });
    const running = this.#applying.get(spec.name);
    if (running) {
      running.again = () => this.applied(spec, md5, peer, log);
      return;
    }
    const slot: { again: (() => void) | null } = { again: null };
    this.#applying.set(spec.name, slot);
    void this.#run(HOOK.onApply, command, env, log).finally(() => {
      this.#applying.delete(spec.name);
      slot.again?.();
    });
  }

  peerDown(peer: string, log: Logger): void {
    this.#alert(HOOK.onPeerDown, this.#hooks.onPeerDown, this.#env(null, { peer }), log);
  }

  peerUp(peer: string, log: Logger): void {
    this.#alert(HOOK.onPeerUp, this.#hooks.onPeerUp, this.#env(null, { peer }), log);
  }

  splitBrain(spec: FileSpec, peer: string, md5: Md5 | null, log: Logger): void {
    this.#alert(HOOK.onSplitBrain, this.#hooks.onSplitBrain, this.#env(spec, { peer, md5 }), log);
  }

  #alert(hook: HookName, command: string | null, env: Record<string, string>, log: Logger): void {
    if (command === null) return;
    if (this.#alerts.length >= MAX_QUEUED) {
      if (this.#dropped++ === 0) log.warn({ hook, queued: this.#alerts.length }, 'hook queue full: dropping alerts');
      return;
    }
    this.#alerts.push({ hook, command, env, log });
    this.#next();
  }

  #next(): void {
    while (this.#running < PARALLEL && this.#alerts.length > 0) {
      const a = this.#alerts.shift()!;
      this.#running++;
      void this.#run(a.hook, a.command, a.env, a.log).finally(() => {
        this.#running--;
        if (this.#alerts.length === 0 && this.#dropped > 0) {
          this.#log.warn({ dropped: this.#dropped }, 'alerts were dropped while the hook queue was full');
          this.#dropped = 0;
        }
        this.#next();
      });
    }
  }
}

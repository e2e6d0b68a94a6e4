/**
 * Runs tasks one after another for one key (a file), so reads, decisions and writes for that
 * file never interleave. Errors are handed to `onError`; the queue keeps going.
 */
export class SerialQueue {
  #tail: Promise<void> = Promise.resolve();
  #pending = 0;

  constructor(private readonly onError: (err: unknown) => void) {}

  get idle(): boolean {
    return this.#pending === 0;
  }

  push(task: () => Promise<void>): Promise<void> {
    this.#pending++;
    const run = async (): Promise<void> => {
      try {
        await task();
      } catch (err) {
        this.onError(err);
      } finally {
        this.#pending--;
      }
    };
    this.#tail = this.#tail.then(run);
    return this.#tail;
  }

  /** Runs `task` after everything queued so far and resolves (or rejects) with its outcome. */
  run<T>(task: () => Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      void this.push(async () => {
        try {
          resolve(await task());
        } catch (err) {
          reject(err);
        }
      });
    });
  }

  /** Resolves when every task pushed so far has finished. */
  drained(): Promise<void> {
    return this.#tail;
  }
}

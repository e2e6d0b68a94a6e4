import { setFlagsFromString } from 'node:v8';

// Imported first by the CLI. A daemon that allocates little between bursts: a small young
// generation keeps the resident set small.
//
// V8 sizes the young generation when the heap is created, so `--max-semi-space-size` set here
// (at run time) is ignored: it was, and the semi-spaces grew to 2 × 16 MiB during start-up and
// never shrank while idle (1,000 files: 23–30 MiB of 108–120 MiB RSS was young generation).
// The growth factor is read at each growth instead: 1 keeps the young generation at its initial
// size (1–2 MiB). (V8 raises a factor below 2 to 2 only when it configures the heap, i.e. on
// the command line; test/unit/env.test.ts checks that the run-time setting still works.)
// Measured with bench/README.md's idle scenario: 1,000 files idle at 88–92 MiB at most (76–83
// once settled) instead of 108–123; 10,000 files start at 131–136 MiB peak instead of 164–169;
// 1 KiB latency, the burst and 1 GiB transfers unchanged.
//
// libuv's thread pool keeps its default 4 threads: more concurrent fsyncs only queue up behind
// the disk (measured: 16 and 64 threads made a 1,000-file burst slower, not faster).
setFlagsFromString('--semi-space-growth-factor=1');

import { setFlagsFromString } from 'node:v8';

// Imported first by the CLI. A daemon that allocates little between bursts: a small young
// generation keeps the resident set small (V8's default lets it grow to tens of MiB of
// semi-space that is rarely needed). libuv's thread pool keeps its default 4 threads: more
// concurrent fsyncs only queue up on the filesystem's journal (measured: 16 and 64 threads
// made a 1,000-file burst slower, not faster).
setFlagsFromString('--max-semi-space-size=2');

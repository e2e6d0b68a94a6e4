import { setFlagsFromString } from 'node:v8';

// Imported first by the CLI, before anything touches libuv's thread pool: a burst of writes
// overlaps its fsyncs there, and the default 4 threads would serialise them.
process.env.UV_THREADPOOL_SIZE ??= '16';
// A daemon that allocates little between bursts: a small young generation keeps the resident
// set small (V8's default lets it grow to tens of MiB of semi-space that is rarely needed).
setFlagsFromString('--max-semi-space-size=2');

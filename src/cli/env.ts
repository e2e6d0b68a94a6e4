// Imported first by the CLI, before anything touches libuv's thread pool: a burst of writes
// overlaps its fsyncs there, and the default 4 threads would serialise them.
process.env.UV_THREADPOOL_SIZE ??= '16';

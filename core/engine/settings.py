"""The engine's switches, in one place: every module reads them from here when it runs, so a test or a
benchmark changes one with `monkeypatch.setattr(engine.settings, "PARALLEL_COPIES", False)`."""

EVAL_CHUNK = 2048  # images per copy evaluated at once (bounds memory for many copies)
EVAL_GATHER_FLOATS = 2 ** 25  # ...fewer when many copies: (K, chunk, widest layer or 784) floats at most
SAMPLE_SPACE_MAX_IMAGES = 512  # train the first Dense in sample space below this training-set size (sample_space.py)
SAMPLE_SPACE_MAX_FLOATS = 2 ** 26  # largest (K, n_valid, units) product kept for sample-space validation (256 MB)
PARALLEL_COPIES = True  # weight-space training runs one XLA loop per copy (False: one batched graph for all copies)
PARALLEL_MIN_IMAGE_EPOCHS = 20_000  # ...for runs this long (images x epochs): XLA compiles for 2-4 s per data shape
CACHE_FROZEN_PREFIX = True  # a phase whose first layers are frozen in every copy computes their output once (batched)
PREFIX_CACHE_MAX_FLOATS = 2 ** 27  # largest (K, n_train, units) cached prefix output (512 MB); larger ones recompute
# After a train() call, if the process holds more than this much resident memory, the engine drops its compiled
# functions (they are traced again when next needed): each tf.function keeps a graph, and XLA an executable, for
# every input shape and per-copy step it has seen, so a long session of many (the reuse grid's calls, the 45
# pairs' task sizes) would otherwise grow by 200-300 MB per call. None: never drop them.
COMPILED_FUNCTIONS_MAX_RSS_MB = 2000
# ...and only once the process has grown this much since the last drop: memory the allocator keeps after a drop
# (or a server's own baseline over the limit) must not make every later run trace its functions again.
COMPILED_FUNCTIONS_REGROWTH_MB = 300

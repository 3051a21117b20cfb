"""The engine's switches, in one place: every module reads them from here when it runs, so a test or a
benchmark changes one with `monkeypatch.setattr(engine.settings, "PARALLEL_COPIES", False)`."""

EVAL_CHUNK = 2048  # images per copy evaluated at once (bounds memory for many copies)
SAMPLE_SPACE_MAX_IMAGES = 512  # train the first Dense in sample space below this training-set size (sample_space.py)
SAMPLE_SPACE_MAX_FLOATS = 2 ** 26  # largest (K, n_valid, units) product kept for sample-space validation (256 MB)
PARALLEL_COPIES = True  # weight-space training runs one XLA loop per copy (False: one batched graph for all copies)
PARALLEL_MIN_IMAGE_EPOCHS = 20_000  # ...for runs this long (images x epochs): XLA compiles for 2-4 s per data shape

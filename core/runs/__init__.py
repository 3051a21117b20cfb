"""The many-seed machinery every concept shares: seed lists and checks, chunks, job keys (`seeds`), and the
learning-rate search that gives every arm of a comparison the same tuning budget (`tuning`), and the units a
concept hands the runner with where they run (`backend`, `runner`: here, or on a Ray cluster)."""

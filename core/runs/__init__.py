"""The many-seed machinery every concept shares: seed lists and checks, chunks, job keys (`seeds`), and the
learning-rate search that gives every arm of a comparison the same tuning budget (`tuning`)."""

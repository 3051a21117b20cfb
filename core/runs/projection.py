"""Codes shown in two dimensions: the projection on their two leading principal components (a page's scatter of
an encoder's codes, one seed at a time)."""

from __future__ import annotations

import numpy as np


def pca_2d(codes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """codes (n, units) -> their projection on the 2 leading principal components (n, 2) float32, and the share
    of the variance each component holds (2,); a code with fewer than 2 units (or 1 image) pads with zeros."""
    codes = np.asarray(codes)
    if codes.ndim != 2 or not len(codes):
        raise ValueError(f"Codes must be (n_images, units) with at least one image, got shape {codes.shape}.")
    centred = codes - codes.mean(axis=0)
    _, singular, vectors = np.linalg.svd(centred, full_matrices=False)
    total = float(np.sum(singular ** 2)) or 1.0
    components = np.zeros((2, codes.shape[1]), np.float32)
    components[:min(2, len(vectors))] = vectors[:2]
    shares = np.zeros(2, np.float32)
    shares[:min(2, len(singular))] = singular[:2] ** 2 / total
    return (centred @ components.T).astype(np.float32), shares

"""Tested, Streamlit-free functions behind the lab's pages (also usable from tests and `python -m core`).

TensorFlow is imported lazily inside the functions that need it, so light callers stay fast.
"""

"""Plotly figure builders: plain data in, `go.Figure` out (no Streamlit, no Keras).

One module per concept, named as the concept's page and core module (`batchnorm`, `bn_training`, `clipping`,
`transfer`, `pretraining`), and the shared chart style in `style` (the "lab" template every builder uses). Pages
import the concept module: `from core.plots import clipping as clipping_plots`.
"""

"""Training: the pipeline behind `kalshi-tui train` and the demo registry builder.

Importing this package is light; SB3 and torch load inside `pipeline.train` /
`pipeline.run_training` and in `tracker` / `progress`, which only training imports.
"""

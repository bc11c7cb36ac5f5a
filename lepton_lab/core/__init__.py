"""Core engine: specs, datasets, augmentation, models, runner, evaluation, run store (no Jupyter imports)."""

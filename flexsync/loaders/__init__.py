"""Loaders that read the flexsync store directly: CoRe/FLEX pairs and multimodal windows.

Importing this package does not import torch: the dataset classes are loaded on first access
(and subclass ``torch.utils.data.Dataset`` only when torch is installed; a DataLoader needs
nothing more than ``__len__`` / ``__getitem__``).
"""

from __future__ import annotations

import importlib
from typing import Any

__all__ = ["FlexPairDataset", "MultimodalWindowDataset", "SampleEntry", "Window", "pad_collate"]

_WHERE = {
    "FlexPairDataset": "flexsync.loaders.flex_pair",
    "pad_collate": "flexsync.loaders.collate",
    "SampleEntry": "flexsync.loaders.flex_pair",
    "MultimodalWindowDataset": "flexsync.loaders.windows",
    "Window": "flexsync.loaders.windows",
}


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'flexsync.loaders' has no attribute {name!r}; public names: {__all__}")
    return getattr(importlib.import_module(module), name)

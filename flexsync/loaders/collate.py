"""Batch items whose arrays differ in length (``args.emg="clean"``): zero padding plus a mask.

torch's ``default_collate`` stacks every array of a batch and fails when their lengths differ,
which is the case for the cleaned EMG of repetitions (each has its own number of 2 kHz rows).
:func:`pad_collate` is ``default_collate`` except for such arrays: they are zero-padded at the end
of their first axis to the longest in the batch, and a bool ``<key>_mask`` of shape (B, L_max)
marks the real rows (``mask.sum(1)`` gives the lengths). Everything else (equal-shape arrays,
numbers, strings, the ``(data, target)`` and ``(data, [exemplars])`` structure of
:class:`~flexsync.loaders.FlexPairDataset`) goes through ``default_collate`` unchanged, so it can
replace it in every mode::

    DataLoader(dataset, batch_size=2, num_workers=2, collate_fn=pad_collate)

torch is imported when the function is called, not when this module is imported.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

__all__ = ["MASK_SUFFIX", "pad_collate"]

MASK_SUFFIX = "_mask"


def pad_collate(batch: Sequence[Any]) -> Any:
    """Collate ``batch`` like ``torch.utils.data.default_collate``, padding variable-length arrays.

    Raises
    ------
    ValueError
        Arrays of one key that differ in a dimension other than the first.
    """
    from torch.utils.data import default_collate

    first = batch[0]
    if isinstance(first, Mapping):
        out: dict[str, Any] = {}
        for key in first:
            values = [item[key] for item in batch]
            if _ragged(values):
                padded, mask = _pad(values, key)
                out[key], out[f"{key}{MASK_SUFFIX}"] = padded, mask
            else:
                out[key] = pad_collate(values)
        return out
    if isinstance(first, tuple | list) and not isinstance(first, str):
        if any(len(item) != len(first) for item in batch):
            raise ValueError(f"items of one batch have different lengths {[len(item) for item in batch]}")
        collated = [pad_collate(list(column)) for column in zip(*batch, strict=True)]
        return tuple(collated) if isinstance(first, tuple) else collated
    return default_collate(list(batch))


def _is_array(value: Any) -> bool:
    return isinstance(value, np.ndarray) or type(value).__module__.startswith("torch")


def _ragged(values: list[Any]) -> bool:
    if not all(_is_array(v) and getattr(v, "ndim", 0) >= 1 for v in values):
        return False
    return len({tuple(v.shape) for v in values}) > 1


def _pad(values: list[Any], key: str) -> tuple[Any, Any]:
    import torch

    tensors = [v if isinstance(v, torch.Tensor) else torch.from_numpy(np.ascontiguousarray(v)) for v in values]
    tails = {tuple(t.shape[1:]) for t in tensors}
    if len(tails) > 1:
        raise ValueError(f"{key!r}: arrays differ beyond their first axis ({sorted(tails)}); only lengths may differ")
    longest = max(int(t.shape[0]) for t in tensors)
    padded = tensors[0].new_zeros((len(tensors), longest, *tensors[0].shape[1:]))
    mask = torch.zeros((len(tensors), longest), dtype=torch.bool)
    for i, t in enumerate(tensors):
        padded[i, : t.shape[0]] = t
        mask[i, : t.shape[0]] = True
    return padded, mask

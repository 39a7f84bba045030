"""Zarr v3 ``dimension_names`` of the arrays the layout describes, derived from its dimension symbols.

Why: xarray (and any reader that labels axes) needs a name for every axis of every array of a
group; without ``dimension_names`` ``xarray.open_zarr`` refuses the group. The names come from the
dimensions of :mod:`flexsync.schemas.zarr_layout`, so arrays that share a length share a name:

- a symbol is its own name (``N``, ``M``, ``G``, ``GH``, ``GW``, ``E``, ``P``);
- ``@height`` / ``@width`` name the attribute (``height``, ``width``);
- ``#channel_names``, ``#joint_names``, ``#views`` name one item of the list (``channel``, ``joint``, ``view``);
- fixed sizes: 21 joints is ``joint``; a last axis of 3 is ``rgb`` for uint8 frames and ``xyz`` otherwise;
  a last axis of 2 is ``uv`` for pixels and ``xy`` otherwise; anything else ``<array>_<axis>``.

An array the layout does not describe (samples, benchmarks) gets no names, as before.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import zarr

from flexsync.schemas.zarr_layout import GRID_GROUP, GRID_SPEC, STREAM_SPECS, ArraySpec, GroupSpec
from flexsync.skeleton import N_JOINTS

__all__ = ["axis_names", "layout_dimension_names"]


def axis_names(spec: ArraySpec) -> tuple[str, ...]:
    """The name of every axis of an array spec (see the module docstring)."""
    return tuple(_axis_name(spec, axis, dim) for axis, dim in enumerate(spec.dims))


def _axis_name(spec: ArraySpec, axis: int, dim: int | str) -> str:
    if isinstance(dim, str):
        if dim.startswith("@"):
            return dim[1:]
        if dim.startswith("#"):
            return dim[1:].removesuffix("_names").removesuffix("s")
        return dim
    last = axis == len(spec.dims) - 1
    if dim == N_JOINTS:
        return "joint"
    if last and dim == 3:
        return "rgb" if spec.dtype == "uint8" else "xyz"
    if last and dim == 2:
        return "uv" if spec.units == "px" else "xy"
    return f"{spec.name}_{axis}"


def layout_dimension_names(
    group: zarr.Group, name: str, shape: Sequence[int], dtype: np.dtype | str
) -> tuple[str, ...] | None:
    """Axis names of array ``name`` (a path below ``group``) if the layout describes it, else None.

    The spec is chosen by where the array goes: a group named ``grid`` (or holding the grid's
    attributes) takes the grid spec, a group whose ``kind`` attribute is set takes that stream
    kind's spec, and a group without one (a staging group, whose attributes are written after its
    arrays) takes the stream specs that have an array of that name. The array must match the
    spec's dtype, number of axes and fixed sizes, and every matching spec must agree on the names.
    """
    parent_path, _, base = name.rpartition("/")
    parent = group if not parent_path else group.get(parent_path)
    attrs = parent.attrs.asdict() if isinstance(parent, zarr.Group) else {}
    specs: list[GroupSpec]
    if _group_name(group, parent_path) == GRID_GROUP or all(a.name in attrs for a in GRID_SPEC.attrs):
        specs = [GRID_SPEC]
    elif attrs.get("kind") in STREAM_SPECS:
        specs = [STREAM_SPECS[attrs["kind"]]]
    else:
        specs = list(STREAM_SPECS.values())
    found = {axis_names(spec) for spec in _matching(specs, base, tuple(int(s) for s in shape), np.dtype(dtype))}
    return found.pop() if len(found) == 1 else None


def _group_name(group: zarr.Group, parent_path: str) -> str:
    """The last name of the group an array goes into; for a group opened at its own folder, that folder's."""
    path = "/".join(p for p in (group.path, parent_path) if p)
    if path:
        return path.rsplit("/", 1)[-1]
    root = getattr(group.store, "root", None)  # a LocalStore opened at the group itself (the publish's grid)
    return Path(root).name if root is not None else ""


def _matching(specs: list[GroupSpec], name: str, shape: tuple[int, ...], dtype: np.dtype) -> list[ArraySpec]:
    out = []
    for group_spec in specs:
        spec = next((a for a in group_spec.arrays if a.name == name), None)
        if spec is not None and _fits(spec, shape, dtype):
            out.append(spec)
    return out


def _fits(spec: ArraySpec, shape: tuple[int, ...], dtype: Any) -> bool:
    if np.dtype(spec.dtype) != dtype or len(spec.dims) != len(shape):
        return False
    return all(not isinstance(d, int) or d == s for d, s in zip(spec.dims, shape, strict=True))

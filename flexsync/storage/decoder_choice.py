"""Which decoder turns stored H.264 chunks into frames: PyAV (always there) or torchcodec (optional).

PyAV is a dependency of flexsync and decodes on the CPU. torchcodec is optional (the pipeline never
needs torch): it decodes on the CPU or, with a CUDA build of torch and torchcodec, on the GPU. It
loads the system's FFmpeg shared libraries, so "installed" is not "usable": :func:`torchcodec_problem`
imports it once per process and keeps the reason it fails, if it does. Nothing here imports torch
unless asked to.
"""

from __future__ import annotations

from functools import cache

__all__ = ["DECODERS", "DEVICES", "resolve_decoder", "torchcodec_problem"]

DECODERS = ("auto", "pyav", "torchcodec")
DEVICES = ("cpu", "cuda")


@cache
def torchcodec_problem() -> str | None:
    """None when torchcodec's video decoder loads in this process, else why it does not."""
    try:
        from torchcodec.decoders import VideoDecoder  # noqa: F401
    except ImportError as error:
        return f"torchcodec is not installed ({error}); pip install 'flexsync[dev]' or torchcodec"
    except (OSError, RuntimeError) as error:  # its FFmpeg (or torch) libraries did not load
        first = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        return f"torchcodec is installed but does not load ({first}); it needs FFmpeg 4-9 shared libraries"
    return None


def resolve_decoder(decoder: str, device: str = "cpu", *, torchcodec_loads: bool | None = None) -> str:
    """``"pyav"`` or ``"torchcodec"`` for a requested decoder and device.

    ``"auto"`` is torchcodec when it loads, else PyAV. ``torchcodec_loads`` overrides the check
    (None: import torchcodec and see). PyAV decodes on the CPU whatever ``device`` is; the frames
    are copied to ``device`` afterwards by whoever asked for them there.

    Raises
    ------
    ValueError
        Unknown decoder or device.
    ImportError
        ``"torchcodec"`` was asked for and does not load (the message says why).
    """
    if decoder not in DECODERS:
        raise ValueError(f"decoder must be one of {DECODERS}, got {decoder!r}")
    if device not in DEVICES:
        raise ValueError(f"device must be one of {DEVICES}, got {device!r}")
    if decoder == "pyav":
        return "pyav"
    problem = torchcodec_problem() if torchcodec_loads is None else (None if torchcodec_loads else "unavailable")
    if problem is None:
        return "torchcodec"
    if decoder == "auto":
        return "pyav"
    raise ImportError(f"decoder='torchcodec': {problem}")

"""Presentation order of the pictures of one stored H.264 GOP, read from their slice headers.

Why: a stored chunk is a bare Annex B bitstream in decode order, without timestamps
(:mod:`flexsync.storage.video_codec`). A decoder that wants a container with timestamps
(torchcodec) needs each picture's presentation time, and with B-frames decode order is not
presentation order. The order is in the bitstream: each slice header carries the low bits of the
picture order count (POC, H.264 8.2.1.1). This module reads them, without decoding any picture.

Only what libx264 writes for our chunks is supported: frame (not field) pictures, POC type 0 or 2
(type 2: decode order is presentation order). Anything else raises ValueError, which the chunk
reader reports as an undecodable chunk; PyAV, which needs no timestamps, still decodes it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

__all__ = ["presentation_order", "split_nal_units"]

_NAL_SLICE, _NAL_IDR, _NAL_SPS = 1, 5, 7
_HIGH_PROFILES = {100, 110, 122, 244, 44, 83, 86, 118, 128, 138, 139, 134, 135}


class _Bits:
    """MSB-first bit reader over an RBSP (emulation prevention bytes removed)."""

    def __init__(self, rbsp: bytes) -> None:
        self._value = int.from_bytes(rbsp, "big")
        self._left = len(rbsp) * 8

    def u(self, n: int) -> int:
        if n > self._left:
            raise ValueError("H.264 header ends before its fields do")
        self._left -= n
        return (self._value >> self._left) & ((1 << n) - 1)

    def ue(self) -> int:
        zeros = 0
        while self.u(1) == 0:
            zeros += 1
            if zeros > 31:
                raise ValueError("H.264 exp-Golomb code longer than 32 bits")
        return (1 << zeros) - 1 + self.u(zeros)

    def skip_scaling_list(self, size: int) -> None:
        last = nxt = 8
        for _ in range(size):
            if nxt:
                delta = self.ue()
                delta = (delta + 1) // 2 if delta % 2 else -(delta // 2)  # se(v)
                nxt = (last + delta) % 256
            last = nxt or last


@dataclass(frozen=True)
class _Sps:
    log2_max_frame_num: int
    poc_type: int
    log2_max_poc_lsb: int


def split_nal_units(bitstream: bytes) -> list[bytes]:
    """The NAL units of an Annex B bitstream (start codes stripped; emulation prevention kept)."""
    units = []
    starts = [i + 3 for i in _find_all(bitstream, b"\x00\x00\x01")]
    for k, start in enumerate(starts):
        end = starts[k + 1] - 3 if k + 1 < len(starts) else len(bitstream)
        units.append(bitstream[start:end].rstrip(b"\x00"))  # trailing zeros belong to the next start code
    return [u for u in units if u]


def presentation_order(access_units: Sequence[bytes]) -> np.ndarray:
    """Presentation index of each access unit (in decode order), e.g. ``[0, 4, 2, 1, 3]``.

    ``access_units`` are one picture each, as FFmpeg's h264 parser splits a GOP (the first holds
    the SPS). Raises ValueError for streams this module does not read (module docstring).
    """
    sps: _Sps | None = None
    pocs: list[int] = []
    prev_msb = prev_lsb = 0
    for unit in access_units:
        poc = None
        for nal in split_nal_units(bytes(unit)):
            kind, ref_idc = nal[0] & 0x1F, (nal[0] >> 5) & 3
            if kind == _NAL_SPS:
                sps = _read_sps(_rbsp(nal[1:]))
            elif kind in (_NAL_SLICE, _NAL_IDR) and poc is None:
                if sps is None:
                    raise ValueError("H.264 slice before any SPS")
                if kind == _NAL_IDR:
                    prev_msb = prev_lsb = 0
                if sps.poc_type == 2:
                    poc = len(pocs)
                    continue
                lsb = _slice_poc_lsb(_rbsp(nal[1:64]), sps, idr=kind == _NAL_IDR)
                half = 1 << (sps.log2_max_poc_lsb - 1)
                msb = prev_msb
                if lsb < prev_lsb and prev_lsb - lsb >= half:
                    msb += 2 * half
                elif lsb > prev_lsb and lsb - prev_lsb > half:
                    msb -= 2 * half
                poc = msb + lsb
                if ref_idc:
                    prev_msb, prev_lsb = msb, lsb
        if poc is None:
            raise ValueError(f"H.264 access unit {len(pocs)} has no slice")
        pocs.append(poc)
    order = np.empty(len(pocs), dtype=np.int64)
    order[np.argsort(np.asarray(pocs), kind="stable")] = np.arange(len(pocs))
    return order


def _find_all(data: bytes, pattern: bytes) -> list[int]:
    found, at = [], data.find(pattern)
    while at >= 0:
        found.append(at)
        at = data.find(pattern, at + len(pattern))
    return found


def _rbsp(payload: bytes) -> bytes:
    """Payload without emulation prevention bytes (00 00 03 -> 00 00)."""
    return payload.replace(b"\x00\x00\x03", b"\x00\x00")


def _read_sps(rbsp: bytes) -> _Sps:
    bits = _Bits(rbsp)
    profile = bits.u(8)
    bits.u(16)  # constraint flags, level
    bits.ue()  # seq_parameter_set_id
    if profile in _HIGH_PROFILES:
        chroma_format = bits.ue()
        if chroma_format == 3:
            bits.u(1)
        bits.ue(), bits.ue()  # bit depths
        bits.u(1)
        if bits.u(1):  # seq_scaling_matrix_present_flag
            for i in range(8 if chroma_format != 3 else 12):
                if bits.u(1):
                    bits.skip_scaling_list(16 if i < 6 else 64)
    log2_max_frame_num = bits.ue() + 4
    poc_type = bits.ue()
    if poc_type not in (0, 2):
        raise ValueError(f"H.264 pic_order_cnt_type {poc_type} is not read here")
    log2_max_poc_lsb = bits.ue() + 4 if poc_type == 0 else 0
    bits.ue()  # max_num_ref_frames
    bits.u(1)
    bits.ue(), bits.ue()  # picture size in macroblocks
    if not bits.u(1):  # frame_mbs_only_flag
        raise ValueError("interlaced H.264 (frame_mbs_only_flag 0) is not read here")
    return _Sps(log2_max_frame_num, poc_type, log2_max_poc_lsb)


def _slice_poc_lsb(rbsp: bytes, sps: _Sps, *, idr: bool) -> int:
    bits = _Bits(rbsp)
    bits.ue(), bits.ue(), bits.ue()  # first_mb_in_slice, slice_type, pic_parameter_set_id
    bits.u(sps.log2_max_frame_num)  # frame_num
    if idr:
        bits.ue()  # idr_pic_id
    return bits.u(sps.log2_max_poc_lsb)

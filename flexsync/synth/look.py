"""The "realistic" camera look: what a real sensor and lens do to the generator's clean renders.

``flexsync.synth.render.FrameRenderer`` draws a sharp, noise-free scene. Real footage differs in
ways that matter to the pipeline: it compresses ~3x (not ~55x) because of sensor noise, edges are
blurred by motion during the exposure, brightness varies across the frame and in time, and a phone
reads its rows out one after the other (rolling shutter), so a flash that starts mid-frame lights
only the lower rows of the LED. ``CameraLook`` turns a few sub-exposure renders of one frame into
such a frame, deterministically from its generator:

1. motion blur and rolling shutter: the frame is a per-row weighted mean of ``n_sub`` renders at
   times spread over ``[0, exposure + readout]`` after the frame start; row ``y`` (of ``H``) is
   exposed over ``[y / H * readout_s, y / H * readout_s + exposure]`` and weighs each render by
   how much of its time bin that window covers (global shutter: equal weights);
2. lighting: a fixed gradient over the frame (a key light from one side, darker floor) times a slow
   variation in time (two sinusoids, a few percent);
3. the sync LED's light, added per row: ``level(y)`` = the part of row ``y``'s exposure window the
   LED was on (``led_row_levels``), so the rolling shutter shows on the LED disc;
4. lens vignetting (cos^4-like fall-off to the corners) and, on the phone, auto-exposure and
   white-balance drift (slow per-frame gain and colour changes);
5. sensor noise in digital numbers (DN, 0-255): shot noise of variance ``gain * shot_dn * signal``
   plus read noise of sd ``gain * read_noise_dn``, where ``gain = reference_exposure / exposure``
   (a shorter exposure needs more analog gain for the same picture), then 8-bit quantisation.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np

from flexsync.synth.clocks import exposure_overlap

__all__ = ["CINEMA_SENSOR", "PHONE_SENSOR", "SENSOR_LINES", "CameraLook", "SensorProfile", "sensor_for"]


SENSOR_LINES = 1080  # the noise figures hold per pixel of a 1080-line sensor (see CameraLook)


@dataclass(frozen=True)
class SensorProfile:
    """Sensor, lens and encoder of one camera type (values for the reference exposure).

    ``shot_dn``: shot-noise variance per DN of signal (DN^2 / DN); ``read_noise_dn``: read noise sd
    (DN); ``reference_exposure_s``: exposure at which these hold (analog gain 1); ``vignetting``:
    brightness lost at the image corners (fraction); ``readout_s``: rolling-shutter readout time
    from the first to the last row (0 = global shutter); ``auto_exposure``: slow AE and white-balance
    drift; ``bits_per_pixel``: H.264 target bitrate per pixel and frame; ``n_sub``: renders averaged
    per frame (motion blur).
    """

    shot_dn: float
    read_noise_dn: float
    reference_exposure_s: float
    vignetting: float
    readout_s: float
    auto_exposure: bool
    bits_per_pixel: float
    n_sub: int

    def bitrate_kbps(self, width: int, height: int, rate_hz: float) -> int:
        """Target H.264 bitrate (kbit/s) for frames of ``width`` x ``height`` at ``rate_hz``."""
        return max(50, round(self.bits_per_pixel * width * height * rate_hz / 1000.0))


# Machine-vision cinema camera: large pixels, global shutter, a higher bitrate (0.2 bit/pixel: 1080p60 ~ 25 Mbit/s).
CINEMA_SENSOR = SensorProfile(
    shot_dn=0.015,
    read_noise_dn=0.5,
    reference_exposure_s=1.0 / 60.0,
    vignetting=0.18,
    readout_s=0.0,
    auto_exposure=False,
    bits_per_pixel=0.2,
    n_sub=3,
)
# Phone: small pixels (more noise), rolling shutter read out in 20 ms, AE/WB drift, phone-like
# bitrate (0.12 bit/pixel: 1080p30 ~ 7.5 Mbit/s).
PHONE_SENSOR = SensorProfile(
    shot_dn=0.06,
    read_noise_dn=1.2,
    reference_exposure_s=1.0 / 30.0,
    vignetting=0.3,
    readout_s=0.020,
    auto_exposure=True,
    bits_per_pixel=0.12,
    n_sub=4,
)


def sensor_for(view: str) -> SensorProfile:
    """The sensor profile of a stream: the phone's for ``"phone"``, else the cinema camera's."""
    return PHONE_SENSOR if view == "phone" else CINEMA_SENSOR


class CameraLook:
    """Turns sub-exposure renders of one camera into realistic frames (see the module docstring).

    Parameters
    ----------
    shape : (H, W, 3)
        Frame shape.
    exposure_s : float
        Exposure of one row (s).
    sensor : SensorProfile
        Noise, lens, shutter and AE of the camera.
    led_centre_px, led_radius_px
        Where the sync LED's lens is drawn (from ``FrameRenderer``), for its light.
    led_rgb : (3,) array
        Colour added by the LED fully on for the whole exposure (on minus off colour).
    rng : numpy.random.Generator
        The look's own stream: lighting, AE and noise draws (same stream => same frames).
    """

    def __init__(
        self,
        shape: tuple[int, int, int],
        *,
        exposure_s: float,
        sensor: SensorProfile,
        led_centre_px: np.ndarray,
        led_radius_px: float,
        led_rgb: np.ndarray,
        rng: np.random.Generator,
    ) -> None:
        if not exposure_s > 0:
            raise ValueError(f"CameraLook: exposure_s must be > 0, got {exposure_s}")
        self.shape = tuple(int(v) for v in shape)
        h, w = self.shape[:2]
        self.exposure_s = float(exposure_s)
        self.sensor = sensor
        self.readout_s = float(sensor.readout_s)
        self._rng = rng
        # Spatial light (gradient) and vignetting maps, (H, W, 1) float32.
        yy, xx = np.mgrid[0:h, 0:w].astype(np.float64)
        u, v = (xx + 0.5) / w - 0.5, (yy + 0.5) / h - 0.5
        side = rng.choice([-1.0, 1.0])
        light = 1.0 + 0.12 * side * u - 0.08 * v + 0.05 * np.exp(-((u - 0.15 * side) ** 2 + (v + 0.2) ** 2) / 0.05)
        r2 = (u**2 + v**2) / 0.5  # 1 at the corners
        vignette = 1.0 - sensor.vignetting * r2**1.5
        self._light = light[..., None].astype(np.float32)
        self._vignette = vignette[..., None].astype(np.float32)
        # Slow lighting change in time: two sinusoids (periods 6-12 s and 2.5-4 s, a few percent).
        self._light_t = (
            rng.uniform(6.0, 12.0),
            rng.uniform(0.0, 2 * np.pi),
            rng.uniform(2.5, 4.0),
            rng.uniform(0, 6.3),
        )
        # AE / WB drift (phone): gain and red/blue balance, periods of seconds.
        self._ae = (rng.uniform(4.0, 9.0), rng.uniform(0.0, 2 * np.pi), rng.uniform(5.0, 11.0), rng.uniform(0, 6.3))
        # Sub-exposure render times and each row's weights (rolling shutter + motion blur).
        k = max(1, int(sensor.n_sub))
        span = self.exposure_s + self.readout_s
        edges = np.linspace(0.0, span, k + 1)
        self.sub_offsets_s = 0.5 * (edges[:-1] + edges[1:])
        row_start = self.row_delays_s(np.arange(h))
        lo = np.maximum(row_start[:, None], edges[None, :-1])
        hi = np.minimum(row_start[:, None] + self.exposure_s, edges[None, 1:])
        weights = np.clip(hi - lo, 0.0, None)
        weights /= weights.sum(axis=1, keepdims=True)
        self._weights = weights.astype(np.float32)[:, None, None, :]  # (H, 1, 1, K)
        self._noise = np.empty(self.shape, dtype=np.float32)
        self._noise_2d = self._noise.reshape(h, -1)
        # Noise is specified per pixel of a 1080-line sensor; a smaller frame is that sensor binned
        # down (each pixel averages (1080 / lines)^2 sensor pixels), so its noise variance shrinks.
        self._binning = min(1.0, (min(h, w) / SENSOR_LINES) ** 2)
        self._uniform = self.readout_s == 0.0
        # The LED's light: anti-aliased disc coverage (4 x 4 supersampling) in a patch around it.
        cu, cv = (float(c) for c in led_centre_px)
        pad = led_radius_px + 2.0
        y0, y1 = max(0, int(np.floor(cv - pad))), min(h, int(np.ceil(cv + pad)) + 1)
        x0, x1 = max(0, int(np.floor(cu - pad))), min(w, int(np.ceil(cu + pad)) + 1)
        self.led_rows = np.arange(y0, y1)
        self._led_cols = slice(x0, x1)
        sub = (np.arange(4) + 0.5) / 4.0 - 0.5
        py = np.arange(y0, y1)[:, None, None, None] + sub[None, None, :, None]
        px = np.arange(x0, x1)[None, :, None, None] + sub[None, None, None, :]
        inside = (px - cu) ** 2 + (py - cv) ** 2 <= led_radius_px**2
        alpha = inside.mean(axis=(2, 3))
        self._led_light = (alpha[..., None] * np.asarray(led_rgb, dtype=np.float64)).astype(np.float32)

    def row_delays_s(self, rows: np.ndarray) -> np.ndarray:
        """Exposure start of image rows after the frame's timestamp (first row): ``row / H * readout_s``."""
        return np.asarray(rows, dtype=np.float64) / self.shape[0] * self.readout_s

    def led_row_levels(
        self, start_true_s: np.ndarray, exposure_true_s: np.ndarray, windows_true_s: Sequence[tuple[float, float]]
    ) -> np.ndarray:
        """(n_frames, n_led_rows): part of each LED row's exposure window the LED was on (true time)."""
        start = np.asarray(start_true_s, dtype=np.float64)[:, None] + self.row_delays_s(self.led_rows)[None, :]
        exposure = np.broadcast_to(np.asarray(exposure_true_s, dtype=np.float64)[:, None], start.shape)
        return exposure_overlap(start, exposure, windows_true_s)

    def lighting_gain(self, t_s: float) -> float:
        """Scene illumination at true time ``t_s`` relative to its mean (slow, a few percent)."""
        p1, f1, p2, f2 = self._light_t
        return float(1.0 + 0.03 * np.sin(2 * np.pi * t_s / p1 + f1) + 0.01 * np.sin(2 * np.pi * t_s / p2 + f2))

    def camera_gain(self, t_s: float) -> np.ndarray:
        """Per-channel (R, G, B) gain of auto-exposure and white balance at true time ``t_s`` (1 without AE)."""
        if not self.sensor.auto_exposure:
            return np.ones(3, dtype=np.float32)
        p1, f1, p2, f2 = self._ae
        ae = 1.0 + 0.05 * np.sin(2 * np.pi * t_s / p1 + f1)
        wb = 0.03 * np.sin(2 * np.pi * t_s / p2 + f2)
        return np.array([ae * (1.0 + wb), ae, ae * (1.0 - wb)], dtype=np.float32)

    def frame(self, renders: np.ndarray, t_s: float, led_levels: np.ndarray, out: np.ndarray) -> np.ndarray:
        """One frame from its ``n_sub`` renders ``(K, H, W, 3)`` uint8 at ``sub_offsets_s``.

        ``t_s``: true time of the frame start (lighting and AE); ``led_levels``: the LED's level per
        row of ``led_rows`` (``led_row_levels``); ``out``: (H, W, 3) uint8, written and returned.
        """
        k = renders.shape[0]
        if self._uniform:
            x = renders[0].astype(np.float32)
            for i in range(1, k):
                x += renders[i]
            x *= self._light * np.float32(self.lighting_gain(t_s) / k)
        else:
            x = renders[0] * self._weights[..., 0]
            for i in range(1, k):
                x += renders[i] * self._weights[..., i]
            x *= self._light * np.float32(self.lighting_gain(t_s))
        x[self.led_rows, self._led_cols] += np.asarray(led_levels, dtype=np.float32)[:, None, None] * self._led_light
        x *= self._vignette * self.camera_gain(t_s)
        gain = self.sensor.reference_exposure_s / self.exposure_s
        np.clip(x, 0.0, 255.0, out=x)
        sigma = x * np.float32(gain * self.sensor.shot_dn * self._binning)
        sigma += np.float32((gain * self.sensor.read_noise_dn) ** 2 * self._binning)
        np.sqrt(sigma, out=sigma)
        # OpenCV's normal generator is ~4x faster than numpy's; seeded per frame from the look's stream.
        cv2.setRNGSeed(int(self._rng.integers(2**31)))
        cv2.randn(self._noise_2d, 0.0, 1.0)  # one channel: a 3-channel Mat would get sd 1 in channel 0 only
        sigma *= self._noise
        x += sigma
        np.rint(x, out=x)
        np.clip(x, 0.0, 255.0, out=x)
        out[...] = x
        return out

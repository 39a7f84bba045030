"""Signal processing of measured streams (sEMG cleaning, envelopes, quality flags).

Pure numpy/scipy on in-memory arrays; readers produce the arrays, assets store the results.
"""

from flexsync.signals.emg import ChannelQuality, channel_quality, clean_emg, emg_envelope, mains_notch_frequencies

__all__ = ["ChannelQuality", "channel_quality", "clean_emg", "emg_envelope", "mains_notch_frequencies"]

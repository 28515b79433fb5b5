"""G.711 µ-law (PCMU), the codec of phone calls and of Asterisk's external media (pure, numpy).

Tables are built once from the ITU-T G.711 definition: 8-bit µ-law bytes to 16-bit linear
samples and back (bias 0x84, clip 32635), the same values Asterisk's codec uses.
"""

from __future__ import annotations

import numpy as np

from ivr.audio.frames import Samples

_BIAS = 0x84
_CLIP = 32635


def _decode_table() -> Samples:
    codes = ~np.arange(256, dtype=np.int32) & 0xFF
    sign = codes & 0x80
    exponent = (codes >> 4) & 0x07
    mantissa = codes & 0x0F
    magnitude = ((mantissa << 3) + _BIAS) << exponent
    linear = np.where(sign != 0, _BIAS - magnitude, magnitude - _BIAS)
    return linear.astype(np.int16)


def _encode_table() -> np.ndarray:
    linear = np.arange(-32768, 32768, dtype=np.int32)
    sign = np.where(linear < 0, 0x80, 0)
    magnitude = np.minimum(np.abs(linear), _CLIP) + _BIAS
    exponent = np.zeros_like(magnitude)
    for e in range(7, 0, -1):  # position of the highest set bit above bit 7
        exponent = np.where((exponent == 0) & (magnitude >= (1 << (e + 7))), e, exponent)
    mantissa = (magnitude >> (exponent + 3)) & 0x0F
    return (~(sign | (exponent << 4) | mantissa) & 0xFF).astype(np.uint8)


_DECODE = _decode_table()
_ENCODE = _encode_table()


def ulaw_decode(data: bytes) -> Samples:
    """µ-law bytes to int16 samples (one per byte)."""
    return _DECODE[np.frombuffer(data, np.uint8)]


def ulaw_encode(samples: Samples) -> bytes:
    """int16 samples to µ-law bytes."""
    index = np.asarray(samples, np.int16).astype(np.int32) + 32768
    return bytes(_ENCODE[index].tobytes())

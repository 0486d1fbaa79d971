"""mozjpeg's overshoot deringing: clipped white runs lifted above 255 along a smooth curve."""

import math

import numba
import numpy as np

from semantic_jpeg.codec import quantize

ZIGZAG = quantize.ZIGZAG


@numba.njit(cache=True, nogil=True)
def _hermite(before: float, start: float, end: float, after: float, t: float, length: int) -> float:
  """Catmull-Rom segment from `start` to `end` at t in [0, 1], tangents scaled by `length`."""
  tangent_start = (end - before) * length
  tangent_end = (after - start) * length
  t2 = t * t
  t3 = t2 * t
  return (
    start * (2 * t3 - 3 * t2 + 1)
    + tangent_start * (t3 - 2 * t2 + t)
    + end * (-2 * t3 + 3 * t2)
    + tangent_end * (t3 - t2)
  )


@numba.njit(cache=True, nogil=True)
def _dering_block(block: np.ndarray, dc_step: float) -> None:
  """mozjpeg's overshoot deringing of one block of 64 samples (0..255) in place."""
  total = 0.0
  clipped = 0
  for i in range(64):
    total += block[i]
    if block[i] >= 255.0:
      clipped += 1
  if clipped == 0 or clipped == 64:
    return
  headroom = (255.0 * 64 - total) / clipped
  ceiling = 255.0 + min(31.0, 2.0 * dc_step, headroom)
  n = 0
  while n < 64:
    if block[ZIGZAG[n]] < 255.0:
      n += 1
      continue
    start = n
    while n + 1 < 64 and block[ZIGZAG[n + 1]] >= 255.0:
      n += 1
    end = n + 1
    first1 = block[ZIGZAG[max(start - 1, 0)]]
    first2 = block[ZIGZAG[max(start - 2, 0)]]
    last1 = block[ZIGZAG[min(end, 63)]]
    last2 = block[ZIGZAG[min(end + 1, 63)]]
    slope_in = max(first1 - first2, 255.0 - first1)
    slope_out = max(last1 - last2, 255.0 - last1)
    if start == 0:
      slope_in = slope_out
    if end == 64:
      slope_out = slope_in
    length = end - start
    step = 1.0 / (length + 1)
    for i in range(start, end):
      value = math.ceil(
        _hermite(255.0 - slope_in, 255.0, 255.0, 255.0 - slope_out, (i - start + 1) * step, length)
      )
      block[ZIGZAG[i]] = min(value, ceiling)
    n += 1


@numba.njit(cache=True, nogil=True)
def dering(plane: np.ndarray, dc_step: float) -> np.ndarray:
  """Lifts clipped white runs (255) of each 8x8 block above 255 along a smooth curve.

  Decoders clamp to 255, so the picture is unchanged, but the smoother waveform needs fewer
  coefficients and rings less (mozjpeg's overshoot deringing). `dc_step` is the DC table entry;
  the overshoot stays below twice it, 31 and the DC range.
  """
  out = plane.copy()
  block = np.zeros(64)
  for row in range(0, plane.shape[0], 8):
    for col in range(0, plane.shape[1], 8):
      for i in range(64):
        block[i] = out[row + i // 8, col + i % 8]
      _dering_block(block, dc_step)
      for i in range(64):
        out[row + i // 8, col + i % 8] = block[i]
  return out

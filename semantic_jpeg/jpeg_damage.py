"""Damage in a JPEG that decodes: libjpeg's corrupt-data warnings, and what libjpeg misses.

libjpeg (libjpeg-turbo, through simplejpeg) warns when entropy-coded data runs short or long,
and other decoders stay silent. A bit flip after which the Huffman code falls back in step
leaves no such trace, only wrong DC differences that shift every later block: they show as DC
coefficients no block of 8-bit samples can have. A zeroed quantization table decodes without a
word too. Both are read from the coefficients (`jpeg_source`, read once by the caller).
"""

import numpy as np
import simplejpeg

from semantic_jpeg import jpeg_source

END_MARKER = b"\xff\xd9"
_MAX_DC = 1024  # 8 x the largest level-shifted 8-bit sample: |DC| of a valid block.
_OUTPUT_COLORSPACES = {"Gray": "GRAY", "CMYK": "CMYK", "YCCK": "CMYK"}


def damage(data: bytes, coefficients: jpeg_source.Coefficients | None) -> str | None:
  """The first sign of damage in a JPEG that decodes, in a few words, or None.

  `coefficients` are the file's (None where libjpeg-turbo could not read them: an older
  libjpeg's limits are not damage).
  """
  warning = _libjpeg_warning(data)
  if warning or coefficients is None:
    return warning
  return _coefficient_damage(coefficients)


def _libjpeg_warning(data: bytes) -> str | None:
  """libjpeg's first warning (or error) while decoding `data`, or None."""
  try:
    colorspace = simplejpeg.decode_jpeg_header(data, strict=False)[2]
    simplejpeg.decode_jpeg(
      data, colorspace=_OUTPUT_COLORSPACES.get(colorspace, "RGB"), fastdct=True, strict=True
    )
  except ValueError as e:
    return f"libjpeg: {str(e).splitlines()[0]}"
  return None


def with_end_marker(data: bytes) -> bytes | None:
  """`data` with the end marker (EOI) added, if that is all it lacks, else None.

  libjpeg reads such a file to the same pixels as the complete one (with a warning); a file
  cut short anywhere else still warns with the marker added.
  """
  if data.endswith(END_MARKER):
    return None
  complete = data + END_MARKER
  return complete if _libjpeg_warning(complete) is None else None


def _coefficient_damage(coefficients: jpeg_source.Coefficients) -> str | None:
  """Zeroed quantization entries, or DC coefficients beyond the 8-bit range."""
  if coefficients.zero_steps:
    return "a quantization table has zero entries"
  for levels, table in zip(coefficients.components, coefficients.tables):
    step = int(table[0, 0])
    if np.abs(levels[..., 0, 0].astype(np.int64) * step).max() > _MAX_DC + step:
      return "DC coefficients beyond the 8-bit range (entropy-coded data out of step)"
  return None

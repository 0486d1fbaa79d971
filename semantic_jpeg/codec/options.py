"""How to encode: the options of `encoder.compress`, checked when they are made.

Plain Python and numpy: command lines build and check options without loading the encoder.
"""

from collections.abc import Mapping
import dataclasses

from semantic_jpeg import errors
from semantic_jpeg.codec import colour
from semantic_jpeg.codec import policies
from semantic_jpeg.codec import ratecontrol
from semantic_jpeg.codec import tuning as tuning_lib

MODES = ("trellis", "dct", "composite")
DEFAULT_QUALITY = 75.0
MAX_STRENGTH = 10.0


@dataclasses.dataclass(frozen=True)
class EncoderOptions:
  """How to encode.

  Attributes:
    mode: 'trellis' (per-block rate-distortion weighting), 'dct' (per-block
      dead zone) or 'composite' (the paper).
    policy: name of a policy in `policies.POLICIES`.
    policy_params: keyword parameters of that policy.
    subsampling: '420', '444' or 'gray' (a 2-D image is always gray).
    quality: rate knob in 1..100 (fractional except in mode 'composite'):
      the table quality in mode 'trellis', the policy's base quality in mode
      'dct', the final re-encode quality in mode 'composite'.
    target_size: file size limit in bytes; the knob is searched.
    match_jpeg_quality: target the size of OpenCV's JPEG at this quality.
    tolerance: a target counts as met within [1 - tolerance, 1] x target.
    progressive: write progressive scans (the default, as mozjpeg's: 2-4 % smaller
      for the same coefficients; every size step pays a lossless rewrite) instead
      of baseline.
    strength: mode 'trellis': how much the map moves lambda, a multiplier on
      the fitted saliency strength (0 ignores the map, like policy 'uniform').
    tuning: mode 'trellis': its fitted constants (`tuning.Tuning`); for tuning
      experiments, the default is what was fitted.

  At most one of quality, target_size and match_jpeg_quality may be set;
  with none, quality is DEFAULT_QUALITY.
  """

  mode: str = "trellis"
  policy: str = "continuous"
  policy_params: Mapping[str, float] = dataclasses.field(default_factory=dict)
  subsampling: str = "420"
  quality: float | None = None
  target_size: int | None = None
  match_jpeg_quality: int | None = None
  tolerance: float = ratecontrol.DEFAULT_TOLERANCE
  progressive: bool = True
  strength: float = 1.0
  tuning: tuning_lib.Tuning = tuning_lib.DEFAULT

  def __post_init__(self):
    _check_choice("mode", self.mode, MODES)
    _check_choice("subsampling", self.subsampling, colour.SUBSAMPLINGS)
    policies.check_policy(self.policy, self.policy_params)
    rates = [r for r in (self.quality, self.target_size, self.match_jpeg_quality) if r is not None]
    if len(rates) > 1:
      raise errors.EncodeError("set at most one of quality, target_size, match_jpeg_quality")
    if self.quality is not None and not 1 <= self.quality <= 100:
      raise errors.EncodeError(f"quality {self.quality} is outside 1..100")
    if self.match_jpeg_quality is not None and (
      self.match_jpeg_quality != int(self.match_jpeg_quality)
      or not 1 <= self.match_jpeg_quality <= 100
    ):
      raise errors.EncodeError(
        f"match_jpeg_quality {self.match_jpeg_quality} is not an integer in 1..100"
      )
    if self.target_size is not None and self.target_size <= 0:
      raise errors.EncodeError(f"target_size {self.target_size} is not > 0")
    if not 0 <= self.strength <= MAX_STRENGTH:
      raise errors.EncodeError(f"strength {self.strength} is outside 0..{MAX_STRENGTH}")
    if not 0 < self.tolerance < 1:
      raise errors.EncodeError(f"tolerance {self.tolerance} is outside (0, 1)")


def _check_choice(name: str, value: str, choices: tuple[str, ...]) -> None:
  if value not in choices:
    raise errors.EncodeError(f"{name} {value!r} is not one of {', '.join(choices)}")

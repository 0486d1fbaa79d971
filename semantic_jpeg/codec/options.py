"""How to encode: the options of `encoder.compress`, checked when they are made.

Plain Python and numpy: command lines build and check options without loading the encoder.
"""

from collections.abc import Mapping
import dataclasses

from semantic_jpeg import errors
from semantic_jpeg.codec import policies
from semantic_jpeg.codec import ratecontrol
from semantic_jpeg.codec import tuning as tuning_lib

MODES = ("trellis", "dct", "composite")
SUBSAMPLINGS = ("420", "444", "gray")
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
    subsampling: '420', '444' or 'gray' (a 2-D image is always gray); None
      keeps a JPEG input's own where its coefficients are kept, else '420'.
    quality: rate knob in 1..100 (fractional except in mode 'composite'):
      the table quality in mode 'trellis', the policy's base quality in mode
      'dct', the final re-encode quality in mode 'composite'.
    target_size: file size limit in bytes; the knob is searched.
    match_jpeg_quality: target the size of OpenCV's JPEG at this quality.
    target_ssimulacra2: the smallest file whose SSIMULACRA 2 against the
      input's pixels is at least this; the knob is searched.
    tolerance: a size target counts as met within [1 - tolerance, 1] x
      target; a score search stops when a passing file is within this of the
      largest failing one.
    progressive: write progressive scans (the default, as mozjpeg's: 2-4 % smaller
      for the same coefficients; every size step pays a lossless rewrite) instead
      of baseline.
    strength: mode 'trellis': how much the map moves lambda, a multiplier on
      the fitted saliency strength (0 ignores the map, like policy 'uniform').
    tuning: mode 'trellis': its fitted constants (`tuning.Tuning`); for tuning
      experiments, the default is what was fitted.
    allow_larger: for JPEG inputs, write the encoded file even when it is not
      smaller than the input (by default the input is written instead).

  At most one of quality, target_size, match_jpeg_quality and
  target_ssimulacra2 may be set; with none, quality is DEFAULT_QUALITY.
  """

  mode: str = "trellis"
  policy: str = "continuous"
  policy_params: Mapping[str, float] = dataclasses.field(default_factory=dict)
  subsampling: str | None = None
  quality: float | None = None
  target_size: int | None = None
  match_jpeg_quality: int | None = None
  target_ssimulacra2: float | None = None
  tolerance: float = ratecontrol.DEFAULT_TOLERANCE
  progressive: bool = True
  strength: float = 1.0
  tuning: tuning_lib.Tuning = tuning_lib.DEFAULT
  allow_larger: bool = False

  def __post_init__(self):
    _check_choice("mode", self.mode, MODES)
    if self.subsampling is not None:
      _check_choice("subsampling", self.subsampling, SUBSAMPLINGS)
    policies.check_policy(self.policy, self.policy_params)
    rates = (self.quality, self.target_size, self.match_jpeg_quality, self.target_ssimulacra2)
    if sum(rate is not None for rate in rates) > 1:
      raise errors.EncodeError(
        "set at most one of quality, target_size, match_jpeg_quality, target_ssimulacra2"
      )
    if self.quality is not None and not 1 <= self.quality <= 100:
      raise errors.EncodeError(f"quality {self.quality} is outside 1..100")
    if self.match_jpeg_quality is not None and (
      self.match_jpeg_quality != int(self.match_jpeg_quality)
      or not 1 <= self.match_jpeg_quality <= 100
    ):
      raise errors.EncodeError(
        f"match_jpeg_quality {self.match_jpeg_quality} is not an integer in 1..100"
      )
    if self.target_ssimulacra2 is not None and not 0 < self.target_ssimulacra2 <= 100:
      raise errors.EncodeError(f"target_ssimulacra2 {self.target_ssimulacra2} is outside (0, 100]")
    if self.target_size is not None and self.target_size <= 0:
      raise errors.EncodeError(f"target_size {self.target_size} is not > 0")
    if not 0 <= self.strength <= MAX_STRENGTH:
      raise errors.EncodeError(f"strength {self.strength} is outside 0..{MAX_STRENGTH}")
    if not 0 < self.tolerance < 1:
      raise errors.EncodeError(f"tolerance {self.tolerance} is outside (0, 1)")


def _check_choice(name: str, value: str, choices: tuple[str, ...]) -> None:
  if value not in choices:
    raise errors.EncodeError(f"{name} {value!r} is not one of {', '.join(choices)}")

"""Run-time options of the map: plain Python, so command lines build them without TensorFlow."""

import dataclasses
import pathlib

COMBINE_MODES = ("sum", "rank_weighted")
MAP_MODELS = ("fixations", "cam")
# What runs the block maps: LiteRT on a CPU and TensorFlow on a GPU (auto), or as asked.
MAP_RUNTIMES = (
  "auto",
  "litert",
  "tensorflow",
)  # The fixation readout, or the paper's class activation maps.
NUM_IMAGENET_CLASSES = 1000
# The fixation readout's trained weights that ship in the package (`readout.load`).
READOUT_WEIGHTS = pathlib.Path(__file__).parent / "data" / "fixation_readout.npz"


@dataclasses.dataclass(frozen=True)
class SaliencyOptions:
  """Run-time knobs of the map.

  top_k: number of top classes reported, and whose CAMs make the `cam` map (the paper uses 5).
  max_side: `cam` map model: the image is scaled down so its long side is at most this (the
    `fixations` model works at the size its readout was trained at).
  face_weight: peak of the face prior merged into the map (0 turns the prior off).
  threshold: map value at and above which a block counts as salient.
  """

  top_k: int = 5
  max_side: int = 1024
  face_weight: float = 1.0
  threshold: float = 0.5

  def __post_init__(self):
    if not 1 <= self.top_k <= NUM_IMAGENET_CLASSES:
      raise ValueError(f"top_k must be in 1..{NUM_IMAGENET_CLASSES}, got {self.top_k}")
    if self.max_side < 32:
      raise ValueError(f"max_side must be at least 32, got {self.max_side}")
    if not 0.0 <= self.face_weight <= 1.0:
      raise ValueError(f"face_weight must be in [0, 1], got {self.face_weight}")
    if not 0.0 <= self.threshold <= 1.0:
      raise ValueError(f"threshold must be in [0, 1], got {self.threshold}")

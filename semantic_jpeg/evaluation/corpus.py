"""The photo sets the encoder is tuned and checked on, and their fixed splits.

Every fitted constant of the encoder is fitted on the `tune` split only; the `validation` split
and the `unseen` sets are for reporting. The rule is fixed by image name, so that it cannot drift:

- `kodak` (kodimNN.png, 24 PNG): odd numbers tune, even numbers validate.
- `scene_fixations` (NNN.jpg, 250 JPEG with eye fixations; all numbers odd): numbers 1 mod 4 tune,
  3 mod 4 validate.
- Any other set (e.g. scikit-image's photos, OpenCV's sample photos: results/README.md says where
  each comes from) is `unseen`: never tuned on.
"""

import pathlib
import re

SPLITS = ("tune", "validation", "unseen")
TUNED_SETS = ("kodak", "scene_fixations")
_NUMBER = re.compile(r"(\d+)$")


def split_of(set_name: str, image: str) -> str:
  """The split an image belongs to: 'tune', 'validation' or 'unseen'.

  Args:
    set_name: the set, e.g. 'kodak' or 'scene_fixations'; other names are unseen sets.
    image: the image's name or path; its stem's trailing number decides in the tuned sets.
  """
  if set_name not in TUNED_SETS:
    return "unseen"
  match = _NUMBER.search(pathlib.Path(image).stem)
  if match is None:
    raise ValueError(f"{image!r} has no image number, which set {set_name!r} splits by")
  number = int(match.group(1))
  if set_name == "kodak":
    return "tune" if number % 2 else "validation"
  return "tune" if number % 4 == 1 else "validation"


def select(set_name: str, images: list[str], split: str) -> list[str]:
  """The images of `split` ('all' keeps every image), in the given order."""
  if split == "all":
    return list(images)
  if split not in SPLITS:
    raise ValueError(f"split {split!r} is not one of all, {', '.join(SPLITS)}")
  return [image for image in images if split_of(set_name, image) == split]

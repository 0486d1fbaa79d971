"""ImageNet-1k class names in the order of the classifier's outputs."""

import functools
import importlib.resources


@functools.cache
def imagenet_classes() -> tuple[tuple[str, str], ...]:
  """(wnid, human-readable name) for each of the 1000 classes."""
  text = (
    importlib.resources.files("semantic_jpeg.saliency")
    .joinpath("data/imagenet_classes.tsv")
    .read_text(encoding="utf-8")
  )
  rows = [line.split("\t") for line in text.splitlines() if not line.startswith("#")]
  return tuple((wnid, name) for wnid, name in rows)


def class_name(index: int) -> str:
  """Short name of class `index` (the first of its synonyms)."""
  return imagenet_classes()[index][1].split(",")[0]


@functools.cache
def imagenet_names() -> tuple[str, ...]:
  """Short names of the 1000 classes, in order."""
  return tuple(class_name(i) for i in range(len(imagenet_classes())))

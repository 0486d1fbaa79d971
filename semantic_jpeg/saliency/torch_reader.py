"""Reads torch's legacy (pre-1.6, non-zip) serialization with numpy alone: no torch needed.

A restricted `pickle.Unpickler` allows only the classes a state dict of tensors needs.
"""

import collections
import os
import pickle
import struct
from typing import Any
from typing import BinaryIO

import numpy as np

from semantic_jpeg import errors

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
    flat = self.storage.data[self.offset :]
    view = np.lib.stride_tricks.as_strided(
      flat, shape=self.size, strides=[s * itemsize for s in self.stride]
    )
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
    if (module, name) in (
      ("torch._utils", "_rebuild_tensor_v2"),
      ("torch._utils", "_rebuild_tensor"),
    ):
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
  except (
    OSError,
    EOFError,
    pickle.UnpicklingError,
    KeyError,
    ValueError,
    struct.error,
    TypeError,
  ) as e:
    raise errors.WeightsError(f"cannot read torch weights {path}: {e}") from e
  return {name: t.to_numpy() for name, t in state.items() if isinstance(t, _Tensor) and t.size}


def _read_storage(f: BinaryIO, storage: _Storage) -> None:
  (numel,) = struct.unpack("<q", f.read(8))
  nbytes = numel * storage.dtype.itemsize
  buffer = f.read(nbytes)
  if numel != storage.numel or len(buffer) != nbytes:
    raise ValueError("storage truncated")
  storage.data = np.frombuffer(buffer, storage.dtype)

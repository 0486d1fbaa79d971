"""A read-only FlatBuffers reader: just what the TFLite schema needs."""

import struct

import numpy as np


class Table:
  """Read-only view of one FlatBuffers table."""

  def __init__(self, data: bytes, pos: int):
    self._data = data
    self._pos = pos
    self._vtable = pos - read(data, "<i", pos)
    self._vtable_size = read(data, "<H", self._vtable)

  def _field(self, index: int) -> int:
    """Returns the position of field `index`, or 0 if it is absent."""
    entry = 4 + 2 * index
    if entry >= self._vtable_size:
      return 0
    offset = read(self._data, "<H", self._vtable + entry)
    return self._pos + offset if offset else 0

  def scalar(self, index: int, fmt: str, default: int = 0) -> int:
    pos = self._field(index)
    return read(self._data, fmt, pos) if pos else default

  def table(self, index: int) -> "Table | None":
    pos = self._field(index)
    return Table(self._data, follow(self._data, pos)) if pos else None

  def tables(self, index: int) -> list["Table"]:
    start, length = self._vector(index, 4)
    return [Table(self._data, follow(self._data, start + 4 * i)) for i in range(length)]

  def array(self, index: int, dtype: str) -> np.ndarray:
    start, length = self._vector(index, np.dtype(dtype).itemsize)
    return np.frombuffer(self._data, dtype, length, start)

  def _vector(self, index: int, item_size: int) -> tuple[int, int]:
    pos = self._field(index)
    if not pos:
      return 0, 0
    pos = follow(self._data, pos)
    length = read(self._data, "<I", pos)
    if pos + 4 + length * item_size > len(self._data):
      raise ValueError("vector past the end of the file")
    return pos + 4, length


def read(data: bytes, fmt: str, pos: int) -> int:
  """One little-endian scalar of struct format `fmt` at `pos`."""
  if pos < 0:
    raise ValueError("negative offset")
  return struct.unpack_from(fmt, data, pos)[0]


def follow(data: bytes, pos: int) -> int:
  """Resolves the relative reference stored at `pos`."""
  return pos + read(data, "<I", pos)

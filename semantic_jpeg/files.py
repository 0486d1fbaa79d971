"""Files on disk: expanding inputs, and writing outputs atomically.

An output is written to a temporary file in its own folder and renamed into place, so a reader
never sees a partial file.
"""

from collections.abc import Iterator
import contextlib
import glob
import os
import pathlib
import tempfile

from semantic_jpeg import errors

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp", ".ppm", ".pgm", ".gif")


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike, suffix: str = ".tmp") -> Iterator[pathlib.Path]:
  """Yields a temporary path beside `path`; renames it into place when the block ends.

  The temporary file (`.NAME.XXXXXXXX` + `suffix`) is removed if the block raises,
  KeyboardInterrupt included.
  """
  path = pathlib.Path(path)
  if not path.parent.is_dir():
    raise errors.SemanticJpegError(f"{path}: output folder {path.parent} does not exist")
  fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=suffix, dir=path.parent)
  os.close(fd)
  try:
    yield pathlib.Path(tmp)
    os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; give what open() would.
    os.replace(tmp, path)
  except BaseException:
    pathlib.Path(tmp).unlink(missing_ok=True)
    raise


def write_atomic(path: str | os.PathLike, data: bytes) -> None:
  """Writes bytes through a temporary file in the same folder and renames it into place."""
  with atomic_path(path) as tmp:
    tmp.write_bytes(data)


def _umask() -> int:
  mask = os.umask(0)
  os.umask(mask)
  return mask


def list_images(inputs: list[str]) -> list[pathlib.Path]:
  """Expands files, folders (their image files, sorted) and globs into a list of paths.

  Paths that do not exist are kept, so that the caller reports them as errors.
  """
  paths: list[pathlib.Path] = []
  for item in inputs:
    path = pathlib.Path(item)
    if path.is_dir():
      paths.extend(
        sorted(p for p in path.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)
      )
    elif any(c in item for c in "*?["):
      paths.extend(pathlib.Path(p) for p in sorted(glob.glob(item)))
    else:
      paths.append(path)
  return paths

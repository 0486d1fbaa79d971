"""Files on disk: expanding inputs, and writing outputs atomically.

An output is written to a temporary file in its own folder and renamed into place, so a reader
never sees a partial file. Temporary files are named `.NAME.semantic_jpeg-HOST-PID-XXXXXXXX.tmp`:
one whose process is gone (a `kill -9`, a power cut) is recognisably ours and stale, and
`remove_stale_temporaries` clears it.
"""

from collections.abc import Iterator
import contextlib
import dataclasses
import errno
import glob
import hashlib
import os
import pathlib
import re
import socket
import tempfile
import time

from semantic_jpeg import errors

IMAGE_SUFFIXES = (
  ".png",
  ".jpg",
  ".jpeg",
  ".mpo",
  ".bmp",
  ".tif",
  ".tiff",
  ".webp",
  ".ppm",
  ".pgm",
  ".gif",
)
STALE_AFTER_S = 24 * 3600  # No write takes this long: a temporary file this old is stale.
_HOST = re.sub(r"[^A-Za-z0-9-]", "-", socket.gethostname()) or "host"
_TEMPORARY = re.compile(r"\.semantic_jpeg-(?P<host>[A-Za-z0-9-]+)-(?P<pid>\d+)-[a-z0-9_]+\.tmp")
# Creating a file fails with these for every file of the folder, not just one.
_FOLDER_ERRNOS = (errno.EROFS, errno.EACCES, errno.EPERM, errno.ENOENT, errno.ENOTDIR)


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike, suffix: str = ".tmp") -> Iterator[pathlib.Path]:
  """Yields a temporary path beside `path`; renames it into place when the block ends.

  The temporary file is removed if the block raises, KeyboardInterrupt included. A failure to
  write (an OSError in the block or the rename) is an `errors.OutputError`; one to create any
  file in the folder is an `errors.OutputFolderError`.
  """
  path = pathlib.Path(path)
  tmp = _create_temporary(path, suffix)
  try:
    yield tmp
    os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; give what open() would.
    os.replace(tmp, path)
  except OSError as e:
    _remove(tmp)
    raise errors.OutputError(f"{path}: cannot write ({e.strerror or e})") from None
  except BaseException:
    _remove(tmp)
    raise


def sha256_of(path: str | os.PathLike) -> str:
  """The file's SHA-256, hex."""
  digest = hashlib.sha256()
  with open(path, "rb") as f:
    for chunk in iter(lambda: f.read(1 << 20), b""):
      digest.update(chunk)
  return digest.hexdigest()


def write_atomic(path: str | os.PathLike, data: bytes) -> None:
  """Writes bytes through a temporary file in the same folder and renames it into place."""
  with atomic_path(path) as tmp:
    tmp.write_bytes(data)


def make_output_folder(folder: str | os.PathLike) -> pathlib.Path:
  """Creates `folder` if missing and checks that files can be written in it.

  Raises `errors.OutputFolderError` when they cannot.
  """
  folder = pathlib.Path(folder)
  try:
    folder.mkdir(parents=True, exist_ok=True)
  except OSError as e:
    raise errors.OutputFolderError(f"cannot create output folder {folder} ({e.strerror})") from None
  _remove(_create_temporary(folder / "probe", ".tmp"))
  return folder


def remove_stale_temporaries(folder: str | os.PathLike) -> list[pathlib.Path]:
  """Removes our temporary files in `folder` left by runs that died; returns their paths.

  Stale: made on this host by a process that is gone, or untouched for STALE_AFTER_S. Files of
  running writers and everything not named by `atomic_path` are left alone.
  """
  removed = []
  for path in pathlib.Path(folder).glob(".*.semantic_jpeg-*.tmp*"):
    match = _TEMPORARY.search(path.name)
    if match and _is_stale(path, match["host"], int(match["pid"])):
      with contextlib.suppress(FileNotFoundError):  # Another run may have removed it first.
        path.unlink()
        removed.append(path)
  return removed


def _create_temporary(path: pathlib.Path, suffix: str) -> pathlib.Path:
  """An empty temporary file of ours beside `path`."""
  try:
    fd, tmp = tempfile.mkstemp(
      prefix=f".{path.name}.semantic_jpeg-{_HOST}-{os.getpid()}-", suffix=suffix, dir=path.parent
    )
  except OSError as e:
    kind = errors.OutputFolderError if e.errno in _FOLDER_ERRNOS else errors.OutputError
    raise kind(f"cannot write to {path.parent} ({e.strerror})") from None
  os.close(fd)
  return pathlib.Path(tmp)


def _is_stale(path: pathlib.Path, host: str, pid: int) -> bool:
  try:
    age = time.time() - path.stat().st_mtime
  except FileNotFoundError:
    return False
  return age > STALE_AFTER_S or (host == _HOST and not _process_exists(pid))


def _process_exists(pid: int) -> bool:
  try:
    os.kill(pid, 0)
  except ProcessLookupError:
    return False
  except PermissionError:  # It exists, as another user's.
    return True
  return True


def _remove(path: pathlib.Path) -> None:
  with contextlib.suppress(OSError):  # Gone already, or the file system went read-only.
    path.unlink()


def _umask() -> int:
  mask = os.umask(0)
  os.umask(mask)
  return mask


@dataclasses.dataclass(frozen=True)
class Listing:
  """Input images, and what was passed over: (path or pattern, reason) pairs."""

  paths: list[pathlib.Path]
  skipped: list[tuple[str, str]]


def find_images(inputs: list[str]) -> Listing:
  """Expands files, folders (their image files, sorted) and globs.

  Named files are kept even if missing or not images, so that the caller reports them as
  errors. In folders and glob matches, entries that are not files (folders, dangling links) or
  not named as images are skipped, and so are a glob that matches nothing and a folder that
  cannot be listed; hidden files in folders are ignored, as the shell's `*` ignores them. A
  file named twice is listed once.
  """
  paths: list[pathlib.Path] = []
  skipped: list[tuple[str, str]] = []
  for item in inputs:
    path = pathlib.Path(item)
    if path.is_dir():
      try:
        entries = sorted(p for p in path.iterdir() if not p.name.startswith("."))
      except OSError as e:
        skipped.append((item, f"cannot list its files ({e.strerror})"))
        continue
    elif any(c in item for c in "*?["):
      entries = [pathlib.Path(p) for p in sorted(glob.glob(item))]
      if not entries:
        skipped.append((item, "matched nothing"))
    else:
      paths.append(path)
      continue
    for entry in entries:
      reason = _not_an_image_file(entry)
      if reason:
        skipped.append((str(entry), reason))
      else:
        paths.append(entry)
  return Listing(_unique(paths), skipped)


def list_images(inputs: list[str]) -> list[pathlib.Path]:
  """The image paths of `find_images`, without the skips."""
  return find_images(inputs).paths


def _unique(paths: list[pathlib.Path]) -> list[pathlib.Path]:
  """The paths in order, each file once."""
  seen, unique = set(), []
  for path in paths:
    real = os.path.realpath(path)  # Unlike resolve(), no error on a symlink loop.
    if real not in seen:
      seen.add(real)
      unique.append(path)
  return unique


def _not_an_image_file(path: pathlib.Path) -> str | None:
  if not path.is_file():
    return "not a file"
  if path.suffix.lower() not in IMAGE_SUFFIXES:
    return "not an image"
  return None

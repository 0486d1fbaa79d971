"""Where compiled forms of the map model are kept between processes, and under what names.

A folder's name is a digest of everything the map depends on: the versions of the package,
TensorFlow and Keras, the source of `semantic_jpeg.saliency` (with the ImageNet weights'
checksum), the model's arguments and the weight files; a change to any of them names a new
folder. Nothing here imports TensorFlow.
"""

from collections.abc import Callable
import hashlib
import importlib.metadata
import json
import os
import pathlib
import shutil
import tempfile
from typing import TypeVar

import semantic_jpeg
from semantic_jpeg import files
from semantic_jpeg.saliency import options

CACHE_ENV = "SEMANTIC_JPEG_CACHE"
T = TypeVar("T")
_PACKAGE = pathlib.Path(__file__).parent


def cache_root() -> pathlib.Path:
  """$SEMANTIC_JPEG_CACHE, else $XDG_CACHE_HOME/semantic_jpeg, else ~/.cache/semantic_jpeg."""
  if os.environ.get(CACHE_ENV):
    return pathlib.Path(os.environ[CACHE_ENV])
  if os.environ.get("XDG_CACHE_HOME"):
    return pathlib.Path(os.environ["XDG_CACHE_HOME"]) / "semantic_jpeg"
  try:
    return pathlib.Path.home() / ".cache" / "semantic_jpeg"
  except (RuntimeError, KeyError):  # No home directory: the temporary folder.
    return pathlib.Path(tempfile.gettempdir()) / f"semantic_jpeg-{os.getuid()}"


def cache_key(model_kwargs: dict, kind: str) -> str:
  """`kind`-<digest of what the map model of `model_kwargs` depends on>."""
  digest = hashlib.sha256()
  versions = [semantic_jpeg.__version__] + [_version(p) for p in ("tensorflow", "keras")]
  digest.update(json.dumps([versions, sorted(model_kwargs.items())], default=str).encode())
  for path in sorted(_PACKAGE.rglob("*")):
    if path.suffix in (".py", ".npz", ".tsv"):
      digest.update(path.relative_to(_PACKAGE).as_posix().encode() + path.read_bytes())
  for path in _weight_files(model_kwargs):
    digest.update(files.sha256_of(path).encode())
  return f"{kind}-{digest.hexdigest()[:24]}"


def _version(package: str) -> str:
  try:
    return importlib.metadata.version(package)
  except importlib.metadata.PackageNotFoundError:
    return "none"


def _weight_files(model_kwargs: dict) -> list[pathlib.Path]:
  """The weight files that `model.load_model` reads besides the ImageNet ones."""
  found = []
  if model_kwargs.get("weights"):
    weights = pathlib.Path(model_kwargs["weights"])
    if weights.is_dir():
      found += [weights / "model.weights.h5", weights / "classes.json"]
    else:
      found += [weights, weights.parent / "classes.json"]
  if model_kwargs.get("map_model", "fixations") == "fixations":
    found.append(pathlib.Path(model_kwargs.get("readout_weights") or options.READOUT_WEIGHTS))
  return [path for path in found if path.is_file()]


def open_folder(
  directory: pathlib.Path, opener: Callable[[pathlib.Path], T], damaged: tuple[type, ...]
) -> T | None:
  """opener(directory) where the folder exists; None where it does not, or where opening it
  raised one of `damaged`: then the folder is removed, to be made again."""
  if not directory.is_dir():
    return None
  try:
    return opener(directory)
  except damaged:
    shutil.rmtree(directory, ignore_errors=True)
    return None


def write_folder(directory: pathlib.Path, write: Callable[[pathlib.Path], None]) -> None:
  """Calls write(staging folder), then renames the folder to `directory` (atomic: a reader sees
  all of it or nothing). Raises OSError where the cache cannot be written."""
  directory.parent.mkdir(parents=True, exist_ok=True)
  staging = pathlib.Path(tempfile.mkdtemp(prefix=".tmp-", dir=directory.parent))
  try:
    write(staging / "model")
    os.rename(staging / "model", directory)
  except OSError:
    if not directory.is_dir():  # Another process may have renamed its copy in first.
      raise
  finally:
    shutil.rmtree(staging, ignore_errors=True)

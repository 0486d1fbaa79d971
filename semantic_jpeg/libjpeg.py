"""jpeglib's builds of libjpeg, shared by the reader's checks, the writer and the baselines.

jpeglib's library version is process-global and its API reads and writes paths only:
`jpeglib_file` keeps threads from switching the library under each other and gives each
call its own temporary directory.
"""

from collections.abc import Iterator
import contextlib
import os
import tempfile
import threading

import jpeglib

TURBO = "turbo210"
_library_lock = threading.Lock()


@contextlib.contextmanager
def jpeglib_file(version: str) -> Iterator[str]:
  """Selects a jpeglib library version and yields a fresh file path for one call."""
  with _library_lock, tempfile.TemporaryDirectory(prefix="semantic_jpeg_") as directory:
    if jpeglib.version.get() != version:
      jpeglib.version.set(version)
    yield os.path.join(directory, "file.jpg")

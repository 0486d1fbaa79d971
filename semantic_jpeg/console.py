"""What a run shows on stderr: our own lines, not the native libraries' logs.

TensorFlow's C++ core and absl write start-up lines to file descriptor 2 (oneDNN, CUDA stubs,
`failed call to cuInit` on a machine without a GPU), and no environment variable stops them
all. `silence_native_stderr` keeps Python's `sys.stderr` on the terminal and points the
descriptor that native code writes to at /dev/null, for the rest of the process.
"""

import io
import logging
import os
import sys


def silence_native_stderr() -> None:
  """Native writes to fd 2 go nowhere; Python's stderr (our lines, warnings) stays visible."""
  sys.stderr.flush()
  kept = os.dup(2)
  devnull = os.open(os.devnull, os.O_WRONLY)
  os.dup2(devnull, 2)
  os.close(devnull)
  sys.stderr = io.TextIOWrapper(
    os.fdopen(kept, "wb", buffering=0),
    encoding=sys.stderr.encoding,
    errors="backslashreplace",
    line_buffering=True,
  )
  os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # Before TensorFlow is imported.
  logging.getLogger("absl").setLevel(logging.ERROR)
  logging.getLogger("tensorflow").setLevel(logging.ERROR)

"""What this machine offers a run, read without importing TensorFlow."""

import os
import pathlib


def cpu_cores() -> int:
  """CPU cores this process may run on."""
  if hasattr(os, "sched_getaffinity"):
    return len(os.sched_getaffinity(0))
  return os.cpu_count() or 1


def has_nvidia_gpu() -> bool:
  """Whether an NVIDIA GPU is present and not hidden by CUDA_VISIBLE_DEVICES."""
  if os.environ.get("CUDA_VISIBLE_DEVICES", None) in ("", "-1"):
    return False
  gpus = pathlib.Path("/proc/driver/nvidia/gpus")
  return gpus.is_dir() and any(gpus.iterdir())

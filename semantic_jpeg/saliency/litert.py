"""The `fixations` block map run by LiteRT: the same graph, exported, without TensorFlow.

Importing TensorFlow and setting up the map's graph costs a process seconds (benchmarks/
startup.py). On a CPU the map's three stages (`MSROIModel.prepare`, `.networks`, `.conclude` with
`.block_outputs`) are exported once per machine as LiteRT models into the cache (`cache`), and
later processes run them with `ai-edge-litert`, which imports in a tenth of a second. Three
models, not one: the networks' input shapes then follow from their inputs alone, so LiteRT's
XNNPACK kernels take them. The block maps equal TensorFlow's to float rounding
(tests/test_litert.py). The `cam` map model, pixel maps and GPUs keep TensorFlow.
"""

from collections.abc import Callable
import functools
import importlib.util
import json
import pathlib
from typing import Any

import numpy as np

from semantic_jpeg import machine
from semantic_jpeg.saliency import cache
from semantic_jpeg.saliency.options import MAP_RUNTIMES
from semantic_jpeg.saliency.options import SaliencyOptions

STAGES = ("prepare", "networks", "conclude")
# Pixels above which an image's tensors are freed once its map is made (they scale with it).
_LARGE_IMAGE = 1 << 22
_META_FILE = "meta.json"


class BlockMapModel:
  """The exported stages of one map model, run one image at a time."""

  def __init__(self, directory: pathlib.Path):
    """Raises OSError or ValueError where the folder is not a complete export."""
    from ai_edge_litert import interpreter  # pylint: disable=g-import-not-at-top

    meta = json.loads((directory / _META_FILE).read_text())
    self.class_names = tuple(meta["class_names"])
    threads = machine.cpu_cores()
    self._stages = {
      name: _Stage(
        functools.partial(
          interpreter.Interpreter, str(directory / f"{name}.tflite"), num_threads=threads
        ),
        meta["outputs"][name],
      )
      for name in STAGES
    }

  def block_saliency(self, rgb: np.ndarray, options: SaliencyOptions) -> dict[str, np.ndarray]:
    """`MSROIModel.block_saliency` of one uint8 RGB image [H, W, 3] (outputs with N = 1)."""
    known = {
      "images": rgb[None],
      "image_size": np.array(rgb.shape[:2], np.int32),
      "top_k": np.int32(options.top_k),
      "face_weight": np.float32(options.face_weight),
      "threshold": np.float32(options.threshold),
    }
    known.update(self._stages["prepare"](known))
    known.update(self._stages["networks"](known))
    outputs = self._stages["conclude"](known)
    if rgb.shape[0] * rgb.shape[1] > _LARGE_IMAGE:  # The image's copy, block-sized maps.
      self._stages["prepare"].release()
      self._stages["conclude"].release()
    return outputs

  def block_map(self, rgb: np.ndarray, options: SaliencyOptions) -> np.ndarray:
    """The map per 8x8 block, as `model.compute_block_map`."""
    return self.block_saliency(rgb, options)["block_map"][0]


class _Stage:
  """One LiteRT model: named inputs in, named outputs out; tensors re-planned when shapes change."""

  def __init__(self, make: Callable[[], Any], output_names: list[str]):
    """`make()`: a new interpreter of the stage; `output_names`: the function's outputs in
    flattened order (the signature's output_i)."""
    self._make = make
    self._interpreter = make()  # Raises ValueError on a damaged file.
    signature = self._interpreter.get_signature_runner()
    self._inputs = signature.get_input_details()
    outputs = signature.get_output_details()
    self._outputs = {name: outputs[f"output_{i}"]["index"] for i, name in enumerate(output_names)}
    self._shapes: dict[str, tuple] = {}

  def __call__(self, known: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    values = {name: np.asarray(known[name], d["dtype"]) for name, d in self._inputs.items()}
    shapes = {name: value.shape for name, value in values.items()}
    if self._interpreter is None:
      self._interpreter = self._make()
    if shapes != self._shapes:
      for name, shape in shapes.items():
        self._interpreter.resize_tensor_input(self._inputs[name]["index"], shape, strict=False)
      self._interpreter.allocate_tensors()
      self._shapes = shapes
    for name, value in values.items():
      self._interpreter.set_tensor(self._inputs[name]["index"], value)
    self._interpreter.invoke()
    return {name: self._interpreter.get_tensor(index) for name, index in self._outputs.items()}

  def release(self) -> None:
    """Frees the interpreter and its tensors; the next call makes a new one."""
    self._interpreter, self._shapes = None, {}


def applies(model_kwargs: dict, runtime: str = "auto") -> bool:
  """Whether the block maps of `model.load_model(**model_kwargs)` run on LiteRT: asked for, or
  `auto` on a machine without an NVIDIA GPU, for the `fixations` map model, where
  `ai-edge-litert` is installed."""
  if runtime not in MAP_RUNTIMES:
    raise ValueError(f"runtime must be one of {MAP_RUNTIMES}, got {runtime!r}")
  if runtime == "tensorflow" or model_kwargs.get("map_model", "fixations") != "fixations":
    return False
  if importlib.util.find_spec("ai_edge_litert") is None:
    return False
  return runtime == "litert" or not machine.has_nvidia_gpu()


def load(model_kwargs: dict) -> BlockMapModel:
  """The exported stages of `model.load_model(**model_kwargs)`, from the cache or exported into
  it (which imports TensorFlow, once per machine and model).

  Raises:
    WeightsError: as `model.load_model`.
    OSError: the cache cannot be written and holds no export.
  """
  directory = cache.cache_root() / cache.cache_key(model_kwargs, "litert")
  damaged = (OSError, ValueError, KeyError, RuntimeError)
  loaded = cache.open_folder(directory, BlockMapModel, damaged)
  if loaded is not None:
    return loaded
  from semantic_jpeg.saliency import litert_export  # pylint: disable=g-import-not-at-top

  cache.write_folder(directory, lambda folder: litert_export.export(model_kwargs, folder))
  return BlockMapModel(directory)

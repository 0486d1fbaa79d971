"""The cached, already-traced SavedModel of the map: the same maps as the Keras model."""

import os
import subprocess
import sys

import numpy as np
import pytest

from semantic_jpeg.saliency import cache as cache_lib
from semantic_jpeg.saliency import compiled
from semantic_jpeg.saliency import model as model_lib
from semantic_jpeg.saliency import readout

from conftest import read_rgb
from conftest import synthetic

_MAP_IN_A_NEW_PROCESS = """
import sys
import numpy as np
from semantic_jpeg.saliency import compiled, model
loaded = compiled.load({})
result = model.compute_map(loaded, np.load(sys.argv[1]))
np.savez(sys.argv[2], block_map=result.block_map, pixel_map=result.pixel_map,
         top_classes=result.top_classes, kind=type(loaded).__name__)
"""


@pytest.fixture
def cache(tmp_path, monkeypatch):
  monkeypatch.setenv(cache_lib.CACHE_ENV, str(tmp_path / "cache"))
  return tmp_path / "cache"


def test_a_process_loads_the_cached_function_and_gets_the_same_maps(model, cache, tmp_path):
  built = compiled.load({})
  assert isinstance(built, model_lib.MSROIModel)
  [saved] = cache.iterdir()
  assert saved.name == cache_lib.cache_key({}, "map")
  for image in (read_rgb("kodim04.png"), synthetic(300, 451)):
    np.save(tmp_path / "image.npy", image)
    subprocess.run(
      [sys.executable, "-c", _MAP_IN_A_NEW_PROCESS, tmp_path / "image.npy", tmp_path / "out.npz"],
      check=True,
      env=os.environ,
    )
    loaded = np.load(tmp_path / "out.npz")
    expected = model_lib.compute_map(model, image)
    assert str(loaded["kind"]) == "LoadedModel"
    np.testing.assert_array_equal(loaded["block_map"], expected.block_map)
    np.testing.assert_array_equal(loaded["pixel_map"], expected.pixel_map)
    np.testing.assert_array_equal(loaded["top_classes"], expected.top_classes)


def test_the_key_follows_the_model_arguments_weight_files_and_kind(tmp_path):
  default = cache_lib.cache_key({}, "map")
  assert cache_lib.cache_key({}, "litert") != default
  assert cache_lib.cache_key({"faces": False}, "map") != default
  assert cache_lib.cache_key({"map_model": "cam"}, "map") != default
  other = tmp_path / "readout.npz"
  other.write_bytes(readout.DEFAULT_WEIGHTS.read_bytes() + b"\0")
  assert cache_lib.cache_key({"readout_weights": str(other)}, "map") != default


def test_a_damaged_cache_is_rebuilt(cache):
  directory = cache / cache_lib.cache_key({"faces": False}, "map")
  directory.mkdir(parents=True)
  (directory / "saved_model.pb").write_bytes(b"not a SavedModel")
  assert isinstance(compiled.load({"faces": False}), model_lib.MSROIModel)
  assert isinstance(compiled.load({"faces": False}), compiled.LoadedModel)

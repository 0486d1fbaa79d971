"""The cached, already-traced SavedModel of the map: the same maps as the Keras model."""

import os
import subprocess
import sys

import numpy as np
import pytest

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
  monkeypatch.setenv(compiled.CACHE_ENV, str(tmp_path / "cache"))
  return tmp_path / "cache"


def test_a_process_loads_the_cached_function_and_gets_the_same_maps(model, cache, tmp_path):
  built = compiled.load({})
  assert isinstance(built, model_lib.MSROIModel)
  [saved] = cache.iterdir()
  assert saved.name == compiled.cache_key({})
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


def test_the_key_follows_the_model_arguments_and_weight_files(tmp_path):
  default = compiled.cache_key({})
  assert compiled.cache_key({"faces": False}) != default
  assert compiled.cache_key({"map_model": "cam"}) != default
  other = tmp_path / "readout.npz"
  other.write_bytes(readout.DEFAULT_WEIGHTS.read_bytes() + b"\0")
  assert compiled.cache_key({"readout_weights": str(other)}) != default


def test_a_damaged_cache_is_rebuilt(cache):
  directory = cache / compiled.cache_key({"faces": False})
  directory.mkdir(parents=True)
  (directory / "saved_model.pb").write_bytes(b"not a SavedModel")
  assert isinstance(compiled.load({"faces": False}), model_lib.MSROIModel)
  assert isinstance(compiled.load({"faces": False}), compiled.LoadedModel)

"""tools/train.py on a small dataset made here: loss falls, accuracy beats chance, weights load."""

import json
import pathlib
import subprocess
import sys

import cv2
import numpy as np
import pytest

from semantic_jpeg.saliency import training

pytestmark = pytest.mark.slow  # Fresh processes, exports or training.

REPO = pathlib.Path(__file__).resolve().parent.parent
CLASSES = ("disc", "square", "stripes")
SIDE = 96


def _draw(kind: str, rng: np.random.Generator) -> np.ndarray:
  """A shape of a random colour, size and place on a noisy background."""
  image = rng.integers(0, 80, (SIDE, SIDE, 3)).astype(np.uint8)
  colour = tuple(int(c) for c in rng.integers(150, 256, 3))
  size = int(rng.integers(18, 30))
  y, x = (int(v) for v in rng.integers(size, SIDE - size, 2))
  if kind == "disc":
    cv2.circle(image, (x, y), size, colour, -1)
  elif kind == "square":
    cv2.rectangle(image, (x - size, y - size), (x + size, y + size), colour, -1)
  else:
    for offset in range(-size, size, 8):
      cv2.line(image, (x + offset, y - size), (x + offset, y + size), colour, 3)
  return image


def _make_dataset(root: pathlib.Path) -> None:
  rng = np.random.default_rng(0)
  for split, count in (("train", 16), ("test", 8)):
    for kind in CLASSES:
      folder = root / split / kind
      folder.mkdir(parents=True)
      for i in range(count):
        cv2.imwrite(str(folder / f"{i}.png"), _draw(kind, rng))


@pytest.fixture(scope="module")
def trained(tmp_path_factory) -> pathlib.Path:
  root = tmp_path_factory.mktemp("shapes")
  _make_dataset(root / "data")
  output = root / "run"
  subprocess.run(
    [
      sys.executable,
      str(REPO / "tools" / "train.py"),
      "--image_folder",
      str(root / "data"),
      "--val_split",
      "test",
      "--output_dir",
      str(output),
      "--epochs",
      "2",
      "--batch_size",
      "8",
      "--image_size",
      str(SIDE),
      "--learning_rate",
      "0.01",
    ],
    check=True,
    capture_output=True,
    timeout=900,
  )
  return output


def test_loss_falls_and_accuracy_beats_chance(trained):
  report = json.loads((trained / "metrics.json").read_text())
  assert report["classes"] == sorted(CLASSES)
  losses = report["history"]["loss"]
  assert len(losses) == 2 and losses[1] < losses[0]
  assert report["val_accuracy"] > 1.0 / len(CLASSES) + 0.15
  assert (trained / "model.weights.h5").is_file() and (trained / "classes.json").is_file()
  assert len(list((trained / "checkpoints").glob("epoch*.weights.h5"))) == 2
  assert list((trained / "logs").rglob("events.out.tfevents.*"))


def _saliency(image: pathlib.Path, out: pathlib.Path, *flags: str) -> dict:
  result = subprocess.run(
    [
      sys.executable,
      "-m",
      "semantic_jpeg.cli",
      "saliency",
      str(image),
      "--output_dir",
      str(out),
      "--json",
      "--nofaces",
      *flags,
    ],
    capture_output=True,
    text=True,
    timeout=600,
    check=True,
  )
  return json.loads(result.stdout)


def test_weights_load_in_the_cli_and_change_the_map(trained, tmp_path):
  image = tmp_path / "disc.png"
  cv2.imwrite(str(image), cv2.resize(_draw("disc", np.random.default_rng(7)), (384, 384)))
  # The map of your own classes is the paper's class activation map.
  imagenet = _saliency(image, tmp_path / "imagenet", "--map_model", "cam")
  ours = _saliency(
    image, tmp_path / "ours", "--map_model", "cam", "--weights", str(trained / "model.weights.h5")
  )
  assert {c["name"] for c in ours["top_classes"]} == set(CLASSES)  # k clamps to 3 classes.
  assert ours["top_classes"][0]["name"] == "disc"
  maps = [cv2.imread(record["outputs"]["map"], cv2.IMREAD_GRAYSCALE) for record in (imagenet, ours)]
  assert np.abs(maps[0].astype(int) - maps[1]).mean() > 5


def test_box_energy():
  pixel_map = np.zeros((10, 20))
  pixel_map[:5, :10] = 1.0
  assert training.box_energy(pixel_map, np.array([[0.0, 0.0, 0.5, 0.5]])) == 1.0
  assert training.box_energy(pixel_map, np.array([[0.5, 0.5, 1.0, 1.0]])) == 0.0
  assert training.box_energy(np.ones((10, 20)), np.array([[0.0, 0.0, 0.5, 1.0]])) == 0.5


def test_bad_weights_are_a_one_line_error(tmp_path):
  (tmp_path / "model.weights.h5").write_bytes(b"not weights")
  (tmp_path / "classes.json").write_text(json.dumps({"classes": ["a", "b"]}))
  result = subprocess.run(
    [
      sys.executable,
      "-m",
      "semantic_jpeg.cli",
      "saliency",
      str(REPO / "testdata" / "kodim23.png"),
      "--output_dir",
      str(tmp_path / "out"),
      "--weights",
      str(tmp_path),
    ],
    capture_output=True,
    text=True,
    timeout=600,
    check=False,
  )
  assert result.returncode == 2 and "Traceback" not in result.stderr
  assert [line for line in result.stderr.splitlines() if line.startswith("error:")]

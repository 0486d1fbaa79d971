"""The SavedModel export, its signatures, and the REST/gRPC clients' payloads fed through it.

No TF Serving binary can be installed on these machines, so there is no server here: the
request builders' exact payloads go through the loaded SavedModel's signature in-process, the
way TF Serving would feed them, and the answers back through the clients' parsers.
"""

import base64
import json
import pathlib
import subprocess
import sys

import cv2
import numpy as np
import pytest
import tensorflow as tf
from tensorflow_serving.apis import predict_pb2

from semantic_jpeg import errors
from semantic_jpeg import saliency
from semantic_jpeg.codec import encoder
from semantic_jpeg.deploy import serving_client
from semantic_jpeg.saliency import sources

from conftest import read_rgb

pytestmark = pytest.mark.slow  # Fresh processes, exports or training.

REPO = pathlib.Path(__file__).resolve().parent.parent
NAMES = ("kodim23", "kodim04")  # Landscape and portrait: a batch of different sizes.


@pytest.fixture(scope="module")
def version_dir(tmp_path_factory) -> pathlib.Path:
  base = tmp_path_factory.mktemp("models")
  subprocess.run(
    [
      sys.executable,
      str(REPO / "export" / "export_saved_model.py"),
      "--export_base_dir",
      str(base),
      "--version",
      "3",
    ],
    check=True,
    capture_output=True,
    timeout=600,
  )
  return base / "semantic_jpeg" / "3"


@pytest.fixture(scope="module")
def signature(version_dir):
  return tf.saved_model.load(str(version_dir)).signatures["serving_default"]


def _jpeg(name: str) -> bytes:
  ok, data = cv2.imencode(
    ".jpg", cv2.imread(str(REPO / "testdata" / f"{name}.png")), [cv2.IMWRITE_JPEG_QUALITY, 90]
  )
  assert ok
  return data.tobytes()


def test_fresh_process_maps_equal_the_librarys(tmp_path, version_dir, model):
  """Load and call in a process that never imports semantic_jpeg."""
  jpegs = [_jpeg(name) for name in NAMES]
  inputs = tmp_path / "inputs.npy"
  np.save(inputs, np.array(jpegs, dtype=object), allow_pickle=True)
  script = (
    "import sys, numpy as np, tensorflow as tf\n"
    f"f = tf.saved_model.load({str(version_dir)!r}).signatures['serving_default']\n"
    f"data = list(np.load({str(inputs)!r}, allow_pickle=True))\n"
    "out = f(image_bytes=tf.constant(data))\n"
    "assert 'semantic_jpeg' not in sys.modules\n"
    f"np.savez({str(tmp_path / 'out.npz')!r}, **{{k: v.numpy() for k, v in out.items()}})\n"
  )
  subprocess.run(
    [sys.executable, "-c", script], check=True, capture_output=True, timeout=600, cwd=tmp_path
  )
  out = np.load(tmp_path / "out.npz")
  assert out["block_map"].shape == (2, 96, 96)
  for i, data in enumerate(jpegs):
    rgb = tf.io.decode_image(data, channels=3).numpy()  # The pixels the server saw.
    local = saliency.compute_map(model, rgb)
    height, width = out["block_height"][i], out["block_width"][i]
    assert (height, width) == local.block_map.shape
    np.testing.assert_allclose(out["block_map"][i, :height, :width], local.block_map, atol=1e-5)
    assert not out["block_map"][i, height:].any() and not out["block_map"][i, :, width:].any()
    np.testing.assert_array_equal(out["top_classes"][i], local.top_classes)
    assert out["num_faces"][i] == len(local.face_scores)


def test_saved_model_cli_lists_both_signatures(version_dir):
  cli = pathlib.Path(sys.executable).parent / "saved_model_cli"
  shown = subprocess.run(
    [str(cli), "show", "--all", "--dir", str(version_dir)],
    check=True,
    capture_output=True,
    text=True,
    timeout=300,
  ).stdout
  default = shown[shown.index("signature_def['serving_default']") :]
  image = shown[shown.index("signature_def['saliency_image']") :]
  assert (
    "inputs['image_bytes'] tensor_info:\n        dtype: DT_STRING\n        shape: (-1)" in default
  )
  assert (
    "inputs['images'] tensor_info:\n        dtype: DT_UINT8\n        shape: (-1, -1, -1, 3)"
    in image
  )
  for section in (default, image):
    for output, dtype in (
      ("block_map", "DT_FLOAT"),
      ("block_height", "DT_INT32"),
      ("top_classes", "DT_INT32"),
      ("face_boxes", "DT_FLOAT"),
    ):
      assert f"outputs['{output}'] tensor_info:\n        dtype: {dtype}" in section


def test_malformed_bytes_are_invalid_argument(signature):
  with pytest.raises(tf.errors.InvalidArgumentError):
    signature(image_bytes=tf.constant([_jpeg("kodim23"), b"\xff\xd8 not a jpeg"]))
  assert signature(image_bytes=tf.constant([_jpeg("kodim21")]))["top_classes"][0, 0] == 437


def test_saliency_image_signature(version_dir, model):
  rgb = read_rgb("kodim21.png")
  out = tf.saved_model.load(str(version_dir)).signatures["saliency_image"](
    images=tf.constant(np.stack([rgb, rgb[::-1]]))
  )
  np.testing.assert_array_equal(out["block_height"], [64, 64])
  np.testing.assert_allclose(
    out["block_map"][0], saliency.compute_map(model, rgb).block_map, atol=1e-5
  )


def _images() -> list[np.ndarray]:
  return [read_rgb(f"{name}.png") for name in NAMES]


def _serve_rest(signature, body: dict) -> dict:
  """What TF Serving does with a columnar REST request: b64 -> bytes, outputs -> lists."""
  body = json.loads(json.dumps(body))  # Exactly what goes over the wire.
  assert body["signature_name"] == "serving_default"
  data = [base64.b64decode(item["b64"]) for item in body["inputs"]["image_bytes"]]
  out = signature(image_bytes=tf.constant(data))
  return json.loads(json.dumps({"outputs": {k: v.numpy().tolist() for k, v in out.items()}}))


def _serve_grpc(signature, request: bytes) -> bytes:
  """What TF Serving does with a PredictRequest (read and answered by the generated classes)."""
  request = predict_pb2.PredictRequest.FromString(request)
  assert request.model_spec.signature_name == "serving_default"
  out = signature(**{k: tf.constant(tf.make_ndarray(v)) for k, v in request.inputs.items()})
  response = predict_pb2.PredictResponse()
  for key, value in out.items():
    response.outputs[key].CopyFrom(tf.make_tensor_proto(value.numpy()))
  return response.SerializeToString()


def _assert_same_as_local(remote: list[serving_client.RemoteMap], model) -> None:
  for answer, rgb in zip(remote, _images()):
    local = saliency.compute_map(model, rgb)
    np.testing.assert_array_equal(answer.block_map, local.block_map)
    np.testing.assert_array_equal(answer.top_classes, local.top_classes)
    # Same map, same options: the compressor writes the same bytes.
    options = encoder.EncoderOptions(match_jpeg_quality=50)
    assert (
      encoder.compress(rgb, answer.block_map, options)[0]
      == encoder.compress(rgb, local.block_map, options)[0]
    )


def test_rest_payload_through_the_signature(signature, model):
  pngs = serving_client.encode_images(_images())
  answer = _serve_rest(signature, serving_client.rest_request(pngs))
  _assert_same_as_local(serving_client.parse_rest_response(answer, len(pngs)), model)


def test_grpc_payload_through_the_signature(signature, model):
  pngs = serving_client.encode_images(_images())
  request = serving_client.grpc_request(pngs, "semantic_jpeg")
  parsed = predict_pb2.PredictRequest.FromString(request)
  assert parsed.model_spec.name == "semantic_jpeg"
  assert list(tf.make_ndarray(parsed.inputs["image_bytes"])) == pngs
  response = _serve_grpc(signature, request)
  _assert_same_as_local(serving_client.parse_grpc_response(response, len(pngs)), model)


@pytest.mark.parametrize(
  "answer",
  [
    {"error": "model not found"},
    {"outputs": {"block_map": []}},
    {
      "outputs": {
        "block_map": [[[0.5]]],
        "block_height": [1],
        "block_width": [1],
        "top_classes": [[1]],
        "top_scores": [[0.5]],
      }
    },
    "not a dict",
  ],
)
def test_malformed_answers_are_serving_errors(answer):
  with pytest.raises(errors.ServingError, match="malformed"):
    serving_client.parse_rest_response(answer, 2)


@pytest.mark.parametrize("server", ["http://127.0.0.1:9", "127.0.0.1:9"])
def test_compress_with_a_server_that_is_down_fails_cleanly(tmp_path, server):
  output = tmp_path / "out.jpg"
  result = subprocess.run(
    [
      sys.executable,
      "-m",
      "semantic_jpeg.cli",
      "compress",
      str(REPO / "testdata" / "kodim23.png"),
      "--output",
      str(output),
      "--saliency_server",
      server,
      "--saliency_timeout",
      "5",
    ],
    capture_output=True,
    text=True,
    timeout=300,
    check=False,
  )
  assert result.returncode == 2 and "Traceback" not in result.stderr
  errors_seen = [line for line in result.stderr.splitlines() if line.startswith("error:")]
  assert len(errors_seen) == 1 and server.removeprefix("http://") in errors_seen[0]
  assert not output.exists()


def test_compress_batches_server_requests_and_isolates_bad_files(tmp_path, signature):
  """The compressor's map source: one request per batch, a bad file fails alone."""
  paths = [REPO / "testdata" / f"{name}.png" for name in ("kodim23", "kodim21")]
  broken = tmp_path / "broken.png"
  broken.write_bytes(b"not an image")
  paths.insert(1, broken)
  requests = []

  class InProcessClient:
    """The REST client's request and parser, with the signature in place of the network."""

    def maps(self, images):
      requests.append(len(images))
      pngs = serving_client.encode_images(images)
      return serving_client.parse_rest_response(
        _serve_rest(signature, serving_client.rest_request(pngs)), len(pngs)
      )

  source = sources.MapSource(paths, 8, sources.from_server(InProcessClient()))
  image, block_map, _ = source.get(paths[0])
  assert requests == [2] and block_map.shape == (64, 96)
  with pytest.raises(errors.ImageError, match="broken.png"):
    source.get(broken)
  assert source.get(paths[2])[0].width == 768 and requests == [2]


def test_grpc_answers_in_value_fields_and_negative_ints_parse():
  """Servers may send values in float_val / int_val rather than tensor_content."""
  response = predict_pb2.PredictResponse()
  outputs = {
    "block_map": (tf.float32, [1, 2, 2], [0.25, 0.5, 0.75, 1.0]),
    "block_height": (tf.int32, [1], [2]),
    "block_width": (tf.int32, [1], [1]),
    "top_classes": (tf.int32, [1, 2], [-3, 7]),
    "top_scores": (tf.float32, [1, 2], [0.5, 0.25]),
  }
  for key, (dtype, shape, values) in outputs.items():
    tensor = response.outputs[key]
    tensor.dtype = dtype.as_datatype_enum
    for size in shape:
      tensor.tensor_shape.dim.add(size=size)
    (tensor.float_val if dtype == tf.float32 else tensor.int_val).extend(values)
  [answer] = serving_client.parse_grpc_response(response.SerializeToString(), 1)
  np.testing.assert_array_equal(answer.block_map, [[0.25], [0.75]])
  np.testing.assert_array_equal(answer.top_classes, [-3, 7])
  with pytest.raises(errors.ServingError, match="malformed"):
    serving_client.parse_grpc_response(b"\x0a\xff", 1)

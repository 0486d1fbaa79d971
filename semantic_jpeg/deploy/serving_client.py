"""Maps from a TF Serving instance that serves the SavedModel of `serving.py`.

`connect('http://HOST:PORT')` talks REST (JSON, images as `{"b64": ...}`); `connect('HOST:PORT')`
talks gRPC (needs the optional `grpcio` package; the messages are built by `predict_proto`, so
neither talks TensorFlow). Both send a batch of images as
PNG files of the decoded, upright pixels to the `serving_default` signature: PNG is lossless, so
the server's maps equal the local model's for the same pixels. The request builders and answer
parsers are plain functions, so they can be tested against the SavedModel in-process.
"""

import base64
import dataclasses
import json
from typing import Any
from typing import Protocol
import urllib.error
import urllib.request

import numpy as np

from semantic_jpeg import errors
from semantic_jpeg import image_io
from semantic_jpeg.deploy import predict_proto

SIGNATURE = "serving_default"
_PREDICT = "/tensorflow.serving.PredictionService/Predict"
DEFAULT_MODEL_NAME = "semantic_jpeg"
DEFAULT_TIMEOUT_S = 30.0


@dataclasses.dataclass(frozen=True)
class RemoteMap:
  """One image's answer: the 8x8-block map (padding cropped) and the top classes."""

  block_map: np.ndarray
  top_classes: np.ndarray
  top_scores: np.ndarray


class MapClient(Protocol):
  address: str

  def maps(self, images: list[np.ndarray]) -> list[RemoteMap]:
    """Block maps of uint8 RGB images, one request for the batch."""


def encode_images(images: list[np.ndarray]) -> list[bytes]:
  return [image_io.encode_png(image) for image in images]


def parse_outputs(outputs: dict[str, Any], count: int) -> list[RemoteMap]:
  """Outputs of `serving_default` (name -> array-like) to one RemoteMap per image."""
  try:
    block_map = np.asarray(outputs["block_map"], np.float32)
    heights = np.asarray(outputs["block_height"], np.int64)
    widths = np.asarray(outputs["block_width"], np.int64)
    classes = np.asarray(outputs["top_classes"], np.int64)
    scores = np.asarray(outputs["top_scores"], np.float32)
  except (KeyError, TypeError, ValueError) as e:
    raise errors.ServingError(f"malformed answer from the saliency server ({e!r})") from None
  if not (
    block_map.ndim == 3
    and len(block_map) == len(heights) == len(widths) == len(classes) == count
    and np.all(heights <= block_map.shape[1])
    and np.all(widths <= block_map.shape[2])
  ):
    raise errors.ServingError(
      f"malformed answer from the saliency server: {count} images sent, shapes "
      f"{block_map.shape}, {heights.shape}, {classes.shape} returned"
    )
  return [
    RemoteMap(block_map[i, : heights[i], : widths[i]], classes[i], scores[i]) for i in range(count)
  ]


# REST (TF Serving's JSON API, columnar "inputs" format).


def rest_request(pngs: list[bytes]) -> dict[str, Any]:
  """The JSON body of a REST predict request."""
  return {
    "signature_name": SIGNATURE,
    "inputs": {"image_bytes": [{"b64": base64.b64encode(p).decode()} for p in pngs]},
  }


def parse_rest_response(body: Any, count: int) -> list[RemoteMap]:
  if not isinstance(body, dict) or not isinstance(body.get("outputs"), dict):
    raise errors.ServingError(f"malformed answer from the saliency server: {str(body)[:200]}")
  return parse_outputs(body["outputs"], count)


class RestClient:
  """REST client: POST http://HOST:PORT/v1/models/NAME:predict."""

  def __init__(
    self, address: str, model_name: str = DEFAULT_MODEL_NAME, timeout: float = DEFAULT_TIMEOUT_S
  ):
    self.address = address
    self._url = f"{address.rstrip('/')}/v1/models/{model_name}:predict"
    self._timeout = timeout

  def maps(self, images: list[np.ndarray]) -> list[RemoteMap]:
    body = json.dumps(rest_request(encode_images(images))).encode()
    request = urllib.request.Request(
      self._url, data=body, headers={"Content-Type": "application/json"}
    )
    try:
      with urllib.request.urlopen(request, timeout=self._timeout) as response:
        answer = json.loads(response.read())
    except urllib.error.HTTPError as e:
      raise errors.ServingError(
        f"saliency server {self._url}: HTTP {e.code} {e.read()[:200].decode(errors='replace')}"
      ) from None
    except (urllib.error.URLError, TimeoutError, ConnectionError) as e:
      reason = getattr(e, "reason", e)
      raise errors.ServingError(f"saliency server {self._url} unreachable ({reason})") from None
    except ValueError:
      raise errors.ServingError(f"saliency server {self._url}: answer is not JSON") from None
    return parse_rest_response(answer, len(images))


# gRPC (tensorflow_serving.apis.PredictionService).


def grpc_request(pngs: list[bytes], model_name: str = DEFAULT_MODEL_NAME) -> bytes:
  """A serialized PredictRequest for `serving_default` (built without TensorFlow)."""
  return predict_proto.predict_request(
    model_name, SIGNATURE, {"image_bytes": predict_proto.string_tensor(pngs)}
  )


def parse_grpc_response(response: bytes, count: int) -> list[RemoteMap]:
  """A serialized PredictResponse to one RemoteMap per image."""
  try:
    outputs = predict_proto.parse_predict_response(response)
  except ValueError as e:
    raise errors.ServingError(f"malformed answer from the saliency server ({e})") from None
  return parse_outputs(outputs, count)


class GrpcClient:
  """gRPC client for HOST:PORT."""

  def __init__(
    self, address: str, model_name: str = DEFAULT_MODEL_NAME, timeout: float = DEFAULT_TIMEOUT_S
  ):
    try:
      import grpc  # pylint: disable=g-import-not-at-top
    except ImportError:
      raise errors.ServingError(
        "gRPC needs the grpcio package: pip install 'semantic-jpeg[serving]'"
      ) from None
    self.address = address
    self._grpc = grpc
    self._predict = grpc.insecure_channel(address).unary_unary(_PREDICT)  # Bytes in and out.
    self._model_name = model_name
    self._timeout = timeout

  def maps(self, images: list[np.ndarray]) -> list[RemoteMap]:
    request = grpc_request(encode_images(images), self._model_name)
    try:
      response = self._predict(request, timeout=self._timeout)
    except self._grpc.RpcError as e:
      raise errors.ServingError(
        f"saliency server {self.address}: {e.code().name} ({e.details()})"
      ) from None
    return parse_grpc_response(response, len(images))


def connect(
  address: str, model_name: str = DEFAULT_MODEL_NAME, timeout: float = DEFAULT_TIMEOUT_S
) -> MapClient:
  """A REST client for http(s)://HOST:PORT, else a gRPC client for HOST:PORT."""
  if address.startswith(("http://", "https://")):
    return RestClient(address, model_name, timeout)
  if ":" not in address:
    raise errors.ServingError(
      f"saliency server {address!r} is neither http://HOST:PORT nor HOST:PORT"
    )
  return GrpcClient(address, model_name, timeout)

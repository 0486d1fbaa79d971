"""TF Serving's PredictRequest and PredictResponse in protobuf's wire format, without TensorFlow.

`tensorflow-serving-api`'s generated classes import `tensorflow` (their TensorProto lives there),
which costs a compressor with a saliency server seconds of start-up for two small messages. The
fields below are those of tensorflow_serving/apis/{predict,model}.proto and
tensorflow/core/framework/{tensor,tensor_shape}.proto; tests check both directions against the
generated classes.
"""

import numpy as np

_DT_FLOAT, _DT_INT32, _DT_STRING, _DT_INT64 = 1, 3, 7, 9
_DTYPES = {_DT_FLOAT: np.float32, _DT_INT32: np.int32, _DT_INT64: np.int64}
# TensorProto fields with values of each dtype (float_val, int_val, int64_val).
_VALUE_FIELDS = {5: _DT_FLOAT, 7: _DT_INT32, 10: _DT_INT64}
_VARINT, _FIXED64, _BYTES, _FIXED32 = 0, 1, 2, 5


def _varint(value: int) -> bytes:
  out = bytearray()
  while True:
    byte, value = value & 0x7F, value >> 7
    out.append(byte | (0x80 if value else 0))
    if not value:
      return bytes(out)


def _field(number: int, payload: bytes) -> bytes:
  """A length-delimited field."""
  return _varint(number << 3 | _BYTES) + _varint(len(payload)) + payload


def string_tensor(values: list[bytes]) -> bytes:
  """A TensorProto of dtype string and shape [len(values)]."""
  shape = _field(2, _varint(1 << 3 | _VARINT) + _varint(len(values)))
  return (
    _varint(1 << 3 | _VARINT)
    + _varint(_DT_STRING)
    + _field(2, shape)
    + b"".join(_field(8, value) for value in values)
  )


def predict_request(model_name: str, signature: str, inputs: dict[str, bytes]) -> bytes:
  """A PredictRequest: model_spec {name, signature_name} and inputs (name -> TensorProto)."""
  spec = _field(1, model_name.encode()) + _field(3, signature.encode())
  entries = b"".join(_field(2, _field(1, k.encode()) + _field(2, v)) for k, v in inputs.items())
  return _field(1, spec) + entries


def _fields(data: bytes):
  """(field number, wire type, value) of a message: ints for varints, bytes otherwise."""
  at = 0
  while at < len(data):
    key, at = _read_varint(data, at)
    number, kind = key >> 3, key & 7
    if kind == _VARINT:
      value, at = _read_varint(data, at)
    elif kind in (_FIXED64, _FIXED32):
      size = 8 if kind == _FIXED64 else 4
      value, at = data[at : at + size], at + size
    elif kind == _BYTES:
      size, at = _read_varint(data, at)
      value, at = data[at : at + size], at + size
    else:
      raise ValueError(f"wire type {kind} of field {number} is not supported")
    if at > len(data):
      raise ValueError("truncated message")
    yield number, kind, value


def _read_varint(data: bytes, at: int) -> tuple[int, int]:
  value = shift = 0
  while True:
    if at >= len(data):
      raise ValueError("truncated varint")
    byte = data[at]
    value, at, shift = value | (byte & 0x7F) << shift, at + 1, shift + 7
    if not byte & 0x80:
      return value, at


def parse_tensor(data: bytes) -> np.ndarray:
  """A numeric TensorProto (float, int32, int64) as an array."""
  dtype, shape, content, values = _DT_FLOAT, [], None, []
  for number, kind, value in _fields(data):
    if number == 1:
      dtype = value
    elif number == 2:
      shape = [_dim_size(dim) for n, _, dim in _fields(value) if n == 2]
    elif number == 4:
      content = value
    elif number in _VALUE_FIELDS:
      values.append((number, kind, value))
  if dtype not in _DTYPES:
    raise ValueError(f"tensor dtype {dtype} is not float, int32 or int64")
  if content is not None:
    return np.frombuffer(content, np.dtype(_DTYPES[dtype]).newbyteorder("<")).reshape(shape)
  flat = np.array([x for item in values for x in _values(*item)], _DTYPES[dtype])
  count = int(np.prod(shape))
  return (np.full(count, flat[0]) if flat.size == 1 and count > 1 else flat).reshape(shape)


def _dim_size(dim: bytes) -> int:
  return next((value for n, _, value in _fields(dim) if n == 1), 0)


def _values(number: int, kind: int, value) -> list:
  """The values of one float_val / int_val / int64_val field, packed or not."""
  if number == 5:
    return list(np.frombuffer(value, "<f4"))
  if kind == _VARINT:
    return [_signed(value)]
  numbers, at = [], 0
  while at < len(value):
    number_value, at = _read_varint(value, at)
    numbers.append(_signed(number_value))
  return numbers


def _signed(value: int) -> int:
  """int32 and int64 varints carry negative numbers as 64-bit two's complement."""
  return value - (1 << 64) if value >= 1 << 63 else value


def parse_predict_response(data: bytes) -> dict[str, np.ndarray]:
  """A PredictResponse's outputs (name -> array)."""
  outputs = {}
  for number, _, entry in _fields(data):
    if number == 1:
      parts = {n: value for n, _, value in _fields(entry)}
      outputs[parts.get(1, b"").decode()] = parse_tensor(parts.get(2, b""))
  return outputs

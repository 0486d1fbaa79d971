"""The package's rooms import only downwards along the data path (read from the source)."""

import ast
import pathlib

import pytest

PACKAGE = pathlib.Path(__file__).resolve().parent.parent / "semantic_jpeg"
BASE = {
  "__init__",
  "errors",
  "blocks",
  "files",
  "image_io",
  "jpeg_damage",
  "jpeg_source",
  "libjpeg",
  "machine",
}
# What each room may import from the package besides itself and BASE.
ALLOWED = {
  "base": set(),
  "codec": set(),
  "saliency": set(),
  "deploy": {"codec", "saliency"},
  "evaluation": {"codec", "saliency"},
  "arguments": {"codec", "saliency", "deploy"},
  "commands": {"arguments", "deploy"},
  "records": set(),
  "batch": set(),
  "cli": {"arguments", "commands", "records", "batch", "codec", "saliency", "deploy", "evaluation"},
}
NO_TENSORFLOW = ("codec", "base", "arguments", "commands", "records", "batch")


def _room(module: str) -> str:
  """'semantic_jpeg.codec.plan' -> 'codec'; top-level basics -> 'base'."""
  first = module.split(".")[1] if module.count(".") else ""
  return "base" if first in BASE else first


def _imports(path: pathlib.Path) -> set[str]:
  """Every module the file imports, at any depth of its code."""
  names = set()
  for node in ast.walk(ast.parse(path.read_text())):
    if isinstance(node, ast.Import):
      names.update(alias.name for alias in node.names)
    elif isinstance(node, ast.ImportFrom) and node.module:
      names.add(node.module)
      names.update(f"{node.module}.{alias.name}" for alias in node.names)
  return names


def _modules() -> list[tuple[str, pathlib.Path]]:
  paths = sorted(PACKAGE.rglob("*.py"))
  return [
    (".".join(("semantic_jpeg", *p.relative_to(PACKAGE).with_suffix("").parts)), p) for p in paths
  ]


@pytest.mark.parametrize("module,path", _modules(), ids=[m for m, _ in _modules()])
def test_imports_point_down_the_data_path(module, path):
  room = _room(module)
  allowed = ALLOWED[room] | {room, "base", ""}
  package_imports = {name for name in _imports(path) if name.startswith("semantic_jpeg.")}
  wrong = sorted(name for name in package_imports if _room(name) not in allowed)
  assert not wrong, f"{module} ({room}) imports {wrong}"
  if room in NO_TENSORFLOW:
    heavy = sorted(n for n in _imports(path) if n.split(".")[0] in ("tensorflow", "keras"))
    assert not heavy, f"{module} imports {heavy}"


def test_the_checker_sees_a_wrong_import(tmp_path):
  wrong = tmp_path / "wrong.py"
  wrong.write_text("def f():\n  from semantic_jpeg.saliency import model\n")
  assert "semantic_jpeg.saliency.model" in _imports(wrong)
  assert _room("semantic_jpeg.saliency.model") not in ALLOWED["codec"] | {"codec", "base"}

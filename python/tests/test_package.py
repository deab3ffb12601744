"""The package as shipped: the type stubs name what the module has, and the names have docs."""
import ast
from pathlib import Path

import imgvec

STUB = Path(imgvec.__file__).with_name("__init__.pyi")


def stub_names():
    tree = ast.parse(STUB.read_text())
    top, members = set(), {}
    for node in tree.body:
        if isinstance(node, (ast.ClassDef, ast.FunctionDef)):
            top.add(node.name)
        if isinstance(node, ast.ClassDef):
            members[node.name] = {n.name for n in node.body if isinstance(n, (ast.FunctionDef, ast.AnnAssign))
                                  and not isinstance(n, ast.AnnAssign)} | \
                {n.target.id for n in node.body if isinstance(n, ast.AnnAssign)}
    return top, members


def test_stubs_match_the_module():
    top, members = stub_names()
    public = {n for n in imgvec.__all__ if not n.startswith("__")}
    assert public == top - {"_Index"}
    for cls in ("VectorDatabase", "FlatIndex", "HnswIndex", "Encoder", "SearchResult"):
        wanted = members[cls] | (members["_Index"] if cls in ("FlatIndex", "HnswIndex") else set())
        have = {n for n in dir(getattr(imgvec, cls)) if not n.startswith("_") or n in wanted}
        assert wanted - {"__init__"} <= have, f"{cls}: the stub names what the module lacks: {wanted - have}"
        missing = {n for n in have if not n.startswith("_")} - wanted
        assert not missing, f"{cls}: the stub lacks {missing}"


def test_every_public_name_has_a_docstring():
    undocumented = []
    for name in imgvec.__all__:
        obj = getattr(imgvec, name)
        if name.startswith("__"):
            continue
        if not (obj.__doc__ or "").strip():
            undocumented.append(name)
        if isinstance(obj, type) and obj.__module__ == "imgvec._imgvec":
            for member, value in vars(obj).items():
                if isinstance(value, staticmethod):
                    value = value.__func__
                if member.startswith("_") or not callable(value):
                    continue
                doc = (value.__doc__ or "").split("\n", 2)
                if len(doc) < 3 or not doc[2].strip():  # pybind11: a signature line, then the docstring
                    undocumented.append(f"{name}.{member}")
    assert not undocumented, undocumented

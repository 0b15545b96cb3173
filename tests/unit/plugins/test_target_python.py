# SPDX-License-Identifier: GPL-3.0-or-later
"""Code shipped to managed hosts parses as Python 3.6, so that a Python older than module_support.MIN_PYTHON gets its message, not a SyntaxError."""

import ast
import glob
import os

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
TARGET_CODE = sorted(glob.glob(os.path.join(ROOT, 'plugins', 'module*', '**', '*.py'), recursive=True))


@pytest.mark.parametrize('path', TARGET_CODE, ids=[os.path.relpath(p, ROOT) for p in TARGET_CODE])
def test_parses_as_python_3_6(path):
    with open(path) as handle:
        ast.parse(handle.read(), path, feature_version=(3, 6))


def test_feature_version_check_is_effective():
    with pytest.raises(SyntaxError):
        ast.parse('match x:\n    case 1:\n        pass\n', feature_version=(3, 6))
    with pytest.raises(SyntaxError):
        ast.parse('def f(a, /, b): pass\ny = (x := 1)\nz = {**a} | b\nw: list[int] = [*(i for i in y)]\n'
                  'print(f"{y=}")\n', feature_version=(3, 6))


def test_target_code_was_found():
    assert len(TARGET_CODE) >= 10

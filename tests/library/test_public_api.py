"""The names ``ha_inference`` exports: importable, lazily loaded, and usable from aws-cdk-lib."""

from __future__ import annotations

import inspect
import subprocess
import sys

import pytest

import ha_inference
from tests.support import ROOT

EXPORTED_CLASSES = [
    getattr(ha_inference, name)
    for name in ha_inference.__all__
    if inspect.isclass(getattr(ha_inference, name))
]


def test_every_exported_name_resolves() -> None:
    missing = [name for name in ha_inference.__all__ if getattr(ha_inference, name, None) is None]
    assert missing == []
    assert sorted(ha_inference.__all__) == sorted(set(ha_inference.__all__))


def test_importing_the_package_loads_no_construct_module_or_cdk_nag() -> None:
    """``import ha_inference`` is cheap; a construct's module (and aws-cdk-lib, cdk-nag) loads
    when its name is first used."""
    code = (
        "import sys, ha_inference; "
        "loaded = sorted(m for m in sys.modules if m.startswith(('aws_cdk', 'cdk_nag', 'ha_inference.'))); "
        "print(loaded)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"


def _interface_properties(cls: type) -> list[tuple[str, str]]:
    """(interface, property) for every property of every jsii interface ``cls`` implements."""
    found = []
    for interface in getattr(cls, "__jsii_ifaces__", ()):
        for name, _ in inspect.getmembers(interface):
            if isinstance(inspect.getattr_static(interface, name, None), property):
                found.append((interface.__name__, name))
    return found


@pytest.mark.parametrize(
    "cls", [c for c in EXPORTED_CLASSES if _interface_properties(c)], ids=lambda c: c.__name__
)
def test_interface_properties_are_python_properties(cls: type) -> None:
    """jsii reads an interface's property (``IConnectable.connections``,
    ``IGrantable.grant_principal``) through the class when aws-cdk-lib is handed the construct;
    an attribute set in ``__init__`` is invisible there (``Cannot read properties of
    undefined``), so each must be a property on the class."""
    not_properties = [
        f"{interface}.{name}"
        for interface, name in _interface_properties(cls)
        if not isinstance(inspect.getattr_static(cls, name, None), property)
    ]
    assert not_properties == []

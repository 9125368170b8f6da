"""The pymars 1.0.4 exporter without building the package: loads the one copy,
python/marsreplay/export.py (standard library only), from this checkout.

    import sys; sys.path.insert(0, "exporters/python")
    from marsreplay_export import from_pymars

With the package installed (pip install ./python), the same code is
``marsreplay.export.from_pymars``.
"""
import importlib.util
import os
import sys

_path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "python", "marsreplay", "export.py")
_spec = importlib.util.spec_from_file_location("marsreplay_export_impl", _path)
_mod = importlib.util.module_from_spec(_spec)
sys.modules[_spec.name] = _mod
_spec.loader.exec_module(_mod)

__all__ = list(_mod.__all__)
globals().update({name: getattr(_mod, name) for name in __all__})

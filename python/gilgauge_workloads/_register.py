"""Registration with the gilgauge companion, tolerant of its absence.

The workload modules call `expose(name, fn)`. When the companion
(`gilgauge_bridge`) can be imported, the function is registered under `name`;
otherwise nothing happens, so the Python-native drivers (and
multiprocessing's pickling, which needs the plain module-level function) work
without it. The module attribute is always left as the undecorated function.
"""

_bridge_register = None
_looked = False


def _companion_register():
    global _bridge_register, _looked
    if not _looked:
        _looked = True
        try:
            from gilgauge_bridge import register
        except ImportError:
            register = None
        _bridge_register = register
    return _bridge_register


def expose(name, fn):
    """Register `fn` with the companion under `name` if it is there; return fn."""
    register = _companion_register()
    if register is not None:
        register(name=name)(fn)
    return fn

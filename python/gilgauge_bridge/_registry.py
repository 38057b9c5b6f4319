"""The functions a script has made callable. Nothing else can be called."""

import threading

_functions = {}
_lock = threading.Lock()


def register(fn=None, *, name=None):
    """Make `fn` callable from TypeScript under `name` (default: its __name__).

    Usable as ``@register``, ``@register()``, ``@register(name="x")``,
    ``@register("x")`` or ``register(name="x")(fn)``. Returns the function
    unchanged.
    """
    if isinstance(fn, str):
        # @register("x"): the positional argument is the name.
        name, fn = fn, None

    def decorate(f):
        if not callable(f):
            raise TypeError("register() needs a callable, got %r" % (f,))
        key = name if name is not None else getattr(f, "__name__", None)
        if not isinstance(key, str) or not key:
            raise ValueError("register() needs a non-empty name for %r" % (f,))
        with _lock:
            existing = _functions.get(key)
            if existing is not None and existing is not f and _identity(existing) != _identity(f):
                raise ValueError("a different function is already registered as %r" % key)
            _functions[key] = f
        return f

    if fn is None:
        return decorate
    return decorate(fn)


def _identity(f):
    """Where a function was defined: a module loaded twice registers equal
    identities, which replace each other instead of clashing."""
    return (getattr(f, "__module__", None), getattr(f, "__qualname__", None))


def lookup(name):
    """The registered function called `name`, or None."""
    with _lock:
        return _functions.get(name)


def registered_functions():
    """Sorted names of the registered functions."""
    with _lock:
        return sorted(_functions)

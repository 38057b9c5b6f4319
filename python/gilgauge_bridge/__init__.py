"""gilgauge companion: runs registered Python functions for a TypeScript
process over an NDJSON protocol on stdio, in a resizable thread pool.

User scripts register what may be called::

    from gilgauge_bridge import register

    @register
    def classify(image): ...

    @register(name="resize-image")
    def resize(image, width): ...

The companion is started by gilgauge's `PythonBridge.spawn` as
``python3 -m gilgauge_bridge --script tools.py``; see `protocol.py` for the
messages. Standard library only, Python 3.8+.
"""

from ._registry import register, registered_functions
from .protocol import PROTOCOL_VERSION

__all__ = ["register", "registered_functions", "PROTOCOL_VERSION"]

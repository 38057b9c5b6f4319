"""One parametrised task for `gilgauge demo`: a pure-Python loop of
`iterations` (holds the GIL), then `wait_ms` of sleep (stands for I/O).
The demo changes the arguments to change the workload's phase. Stdlib only."""

import time

from ._register import expose


def phase_task(iterations, wait_ms):
    x = 0
    for _ in range(int(iterations)):
        x += 1
    if wait_ms > 0:
        time.sleep(wait_ms / 1000.0)
    return x


expose("phase_task", phase_task)

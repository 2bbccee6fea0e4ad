"""FastAPI dependencies: one alias per shared object, as full-stack-fastapi-template's SessionDep.

`RuntimeDep` is the one way a handler reaches the per-process Runtime, on the
fast path too (app/fastpath reads the same lifespan-state entry).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from app.fastpath import LifespanState
from app.runtime import Runtime

# The lifespan state's entry holding the Runtime (app/main.py yields it).
RUNTIME = "runtime"

get_runtime = LifespanState(RUNTIME)
RuntimeDep = Annotated[Runtime, Depends(get_runtime)]

"""Name -> backend class, with the import of MinkowskiEngine deferred until it is asked for."""


def _dense():
    from .dense import DenseMaskedBackend
    return DenseMaskedBackend


def _minkowski():
    from .minkowski import MinkowskiBackend
    return MinkowskiBackend


BACKENDS = {'dense': _dense, 'minkowski': _minkowski}


def build_backend(name: str):
    """Return the backend class for ``name``, failing with the valid choices if unknown."""
    if name not in BACKENDS:
        raise ValueError(f"Unknown tokenizer backend {name!r}: choose one of {sorted(BACKENDS)} "
                         "(key 'backend' of the SCOTT backbone or tokenizer config).")
    return BACKENDS[name]()

"""flexsync: synchronised, validated, training-ready datasets from multimodal fitness captures.

Layers (lower never imports higher): domain library (``raw``, ``readers``, ``timing``,
``signals``, ``storage``, ``fkg``, ``synth``, ``loaders``), contracts (``schemas``), and
orchestration (``assets``, ``sensors``, ``pipelines``, ``definitions``).
"""

__version__ = "0.1.0"

"""The generators of the committed docs, run by ``make docs`` (``python -m docgen``).

Each module writes one kind of generated doc and has a test that fails while the committed copy
is stale: the API reference (``api``: docs/api/), the rule pack's table (``rules``:
docs/rules.md), the cdk-nag acknowledgements of the reference app (``acknowledgements``), its
IAM roles (``permissions``: docs/permissions.md), and
the tools' generated blocks and example runs in docs/tools.md (``tool_examples``). The AZ- and
Region-loss pages and pictures are the report's own output over the reference app (``make
docs`` runs it). Not part of the library: nothing under ``ha_inference/`` imports this package.
"""

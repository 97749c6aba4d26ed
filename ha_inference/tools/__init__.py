"""The tools, one command: ``ha-inference preflight | verify | report | load-documents``.

They read a synthesized cloud assembly (``cdk.out``) with the standard library
(:mod:`ha_inference.tools.assembly`) and never import aws-cdk-lib, so they run wherever Python
does. ``preflight``, ``verify`` and ``load-documents`` call AWS with boto3, which the ``tools``
extra installs (``pip install 'ha-inference[tools]'``); ``report`` reads templates only.
See ``docs/tools.md``.
"""

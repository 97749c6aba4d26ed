"""The README's generated blocks for preflight and verify: their check lists, IAM actions,
minimal policies, and one example run of each command against stubbed AWS answers (real output
of the real code). ``tests/test_account.py`` keeps the README equal to these; ``make docs``
rewrites the blocks in README.md after a change.
"""

from __future__ import annotations

import io
import json
import re
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

from ha_inference import preflight, verify
from ha_inference._internal.account import Registry, checks_markdown
from tests import test_preflight as p
from tests import test_verify as v
from tests.stubs import PHYSICAL, Stubs, sample_stack, write_assembly

README = Path(__file__).resolve().parent.parent / "README.md"
BLOCK = re.compile(
    r"<!-- BEGIN generated: (?P<name>[\w -]+) -->\n(?P<body>(?:(?!<!-- BEGIN).)*?)"
    r"<!-- END generated -->",
    re.DOTALL,
)


def preflight_example() -> tuple[int, str, str]:
    """One Region where the quota is short, the model bucket is in another Region, the
    collection name is taken and reading one policy is denied."""
    stubs = Stubs()
    stubs.identity()
    p.toolkit(stubs)
    p.bootstrap_version(stubs, "27")
    p.quotas(stubs, 4)
    p.zones(stubs)
    p.service(stubs, "com.amazonaws.us-east-1.bedrock-runtime")
    p.service(stubs, "com.amazonaws.us-east-1.aoss")
    p.profile(stubs)
    p.foundation_model(stubs)
    p.all_active(stubs)
    p.bucket(stubs, "us-west-2")
    p.collections(stubs, [{"name": "vectors", "id": "h4x9k2", "status": "ACTIVE"}])
    stubs("opensearchserverless").add_client_error(
        "get_security_policy", "ResourceNotFoundException", http_status_code=404
    )
    stubs.error("opensearchserverless", "get_access_policy", "AccessDeniedException", status=403)
    p.endpoint_name(stubs)
    stubs.no_stack()
    return _run(preflight.main, stubs, preflight.PERMISSIONS)


def verify_example() -> tuple[int, str, str]:
    """The same stack right after its first deploy: everything serves, no documents yet."""
    stubs = Stubs()
    stubs.identity()
    stubs.stack(PHYSICAL)
    v.target_health(stubs)
    v.target_interfaces(stubs)
    v.endpoint(stubs)
    v.vpc_endpoint(stubs)
    v.aoss_endpoint(stubs)
    v.collection(stubs)
    v.function(stubs)
    v.answer(stubs, v.proxy(200, {"answer": v.NO_PASSAGES_ANSWER, "sources": []}))
    return _run(verify.main, stubs, verify.PERMISSIONS)


def _run(main: Callable[..., int], stubs: Stubs, permissions: object) -> tuple[int, str, str]:
    with tempfile.TemporaryDirectory() as directory:
        assembly = write_assembly(Path(directory) / "cdk.out", [sample_stack()])
        out, err = io.StringIO(), io.StringIO()
        saved = sys.stdout, sys.stderr
        sys.stdout, sys.stderr = out, err
        try:
            code = main([str(assembly)], connector=stubs.connector(permissions))  # type: ignore[arg-type]
        finally:
            sys.stdout, sys.stderr = saved
    stubs.assert_done()
    return code, out.getvalue(), err.getvalue()


def _example(command: str, result: tuple[int, str, str]) -> str:
    code, out, err = result
    return f"```text\n$ python -m ha_inference.{command} cdk.out\n{err}{out}$ echo $?\n{code}\n```"


def _policy(registry: Registry) -> str:
    return "```json\n" + json.dumps(registry.permissions.policy(), indent=2) + "\n```"


def blocks() -> dict[str, str]:
    """Every generated README block, by name."""
    return {
        "preflight checks": checks_markdown(preflight.PREFLIGHT),
        "preflight example": _example("preflight", preflight_example()),
        "verify checks": checks_markdown(verify.VERIFY),
        "verify example": _example("verify", verify_example()),
        "preflight actions": preflight.PERMISSIONS.markdown(),
        "preflight policy": _policy(preflight.PREFLIGHT),
        "verify actions": verify.PERMISSIONS.markdown(),
        "verify policy": _policy(verify.VERIFY),
    }


def readme_blocks(text: str) -> dict[str, str]:
    return {m["name"]: m["body"].rstrip("\n") for m in BLOCK.finditer(text)}


def write() -> Path:
    """Rewrites the generated blocks of README.md."""
    generated = blocks()
    text = README.read_text()
    updated = BLOCK.sub(
        lambda m: (
            f"<!-- BEGIN generated: {m['name']} -->\n{generated[m['name']]}\n<!-- END generated -->"
        ),
        text,
    )
    README.write_text(updated)
    return README

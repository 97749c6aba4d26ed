#!/usr/bin/env python3
"""Reference app: highly available generative-AI inference in every configured Region and AZ.

Settings come from cdk.json context (see README, "Configuration"). cdk-nag's AwsSolutions and
NIST 800-53 rev. 5 packs run on every synth; an unacknowledged error-level finding fails it.
"""

import gc

if __name__ == "__main__":
    # A synth is one short process that builds objects and never frees them in cycles worth
    # collecting: cyclic collections over aws-cdk-lib's tens of thousands of classes only cost
    # time (about 0.5 s of a synth). Imported as a module (tests), the app leaves gc alone.
    gc.disable()

import os
from typing import Any

import aws_cdk as cdk
from cdk_nag import AwsSolutionsChecks, NIST80053R5Checks

from stacks import build_reference_app
from stacks.process import leave_after_synth


def create_app(**props: Any) -> cdk.App:
    """The app with both packs registered. ``props`` go to ``cdk.App``: the CLI passes context
    and the output folder through the environment instead, which only the jsii Node.js process
    reads, and that process keeps the environment it started with."""
    app = cdk.App(**props)
    build_reference_app(app, default_account=os.environ.get("CDK_DEFAULT_ACCOUNT"))
    cdk.Validations.of(app).add_plugins(AwsSolutionsChecks(app), NIST80053R5Checks(app))
    return app


def main() -> None:
    """Synthesizes the app, then ends the process without the interpreter's teardown (see
    :func:`stacks.process.leave_after_synth`). A failed synth raises before that and exits the
    ordinary way."""
    create_app().synth()
    leave_after_synth()


if __name__ == "__main__":
    main()

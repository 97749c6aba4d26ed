"""An offline deploy rehearsal of the reference app.

Reads the synthesized templates the way CloudFormation and the services do and checks that
every runtime path the app declares (:data:`paths.PATHS`) is allowed at every layer (DNS,
security groups, VPC endpoint policy, IAM identity policy, OpenSearch Serverless data access),
that the paths which must be refused are refused by the right layer, and that the stacks can
be rolled back, destroyed and deployed again (:mod:`lifecycle`).

Modules: ``resolver`` (CloudFormation intrinsics with fake physical ids), ``network``
(subnets, security groups, endpoints), ``policies`` (iam-simulate in one Node process, and
OpenSearch Serverless policies), ``paths`` (the table of runtime paths), ``rehearsal`` (runs
the paths through the layers), ``lifecycle`` (retained names, deletion protection, custom
resources).
"""

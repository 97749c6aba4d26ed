"""Amazon Bedrock Custom Model Import: your own weights, hosted by Bedrock in the stack's Region.

GENREL05-BP01 step 1: "consider using Amazon Bedrock's Custom Model Import feature to offload
model hosting considerations to the managed service". Bedrock serves an imported model on demand,
with no instances to spread over Availability Zones, but only in the Region it was imported into
(there is no cross-Region inference profile for it): high availability across Regions means one
:class:`ImportedModel` in each Region's stack, each covered by the same supporting infrastructure
(:class:`ha_inference.RegionCoverage` checks that).

Why a custom resource: CloudFormation documents ``AWS::Bedrock::ModelImportJob``, but neither
aws-cdk-lib 2.275 (no ``CfnModelImportJob``) nor cfn-lint 1.58's registry schemas know the type,
and its documented properties name no imported model; ``tests/library/test_regions.py`` fails
when cfn-lint learns it, so that this choice is looked at again. Sources: the Bedrock user guide
("Import a customized model into Amazon Bedrock", "Create a service role for model import",
"Using customer managed key (CMK)") and botocore's ``bedrock`` service model (name and URI
patterns).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import aws_cdk as cdk
import jsii
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct

from ha_inference._internal.custom_resource import HandlerProvider
from ha_inference._internal.logs import new_log_group
from ha_inference._internal.nag import (
    DEPLOY_TIME_HANDLER,
    INLINE_POLICY,
    NO_RESERVED_CONCURRENCY,
    acknowledge,
    acknowledge_all,
    wildcard_resource_finding,
)
from ha_inference._internal.names import claim_name
from ha_inference._internal.props import checked_props
from ha_inference._internal.tokens import is_unresolved
from ha_inference._internal.validation import concrete_region
from ha_inference.bedrock.profiles import INVOKE_ACTIONS, PolicyStatementShape
from ha_inference.compute.multi_az_function import PYTHON_RUNTIME
from ha_inference.compute.shipped import ShippedHandler, handler_code
from ha_inference.metadata import mark_imported_model
from ha_inference.regions import (
    CUSTOM_MODEL_IMPORT_DATE,
    CUSTOM_MODEL_IMPORT_REGIONS,
    partition_of,
)

DEFAULT_IMPORT_TIMEOUT = cdk.Duration.minutes(50)
"""How long a deploy waits for the import job by default."""

MAX_IMPORT_TIMEOUT_MINUTES = 55
"""CloudFormation waits at most one hour for a custom resource (``ServiceTimeout`` 3,600 s); the
provider framework's waiter must give up before that, with time left to answer."""

QUERY_INTERVAL = cdk.Duration.seconds(30)
"""How often the waiter asks Bedrock about the import job."""

NAME_PREFIX_MAX = 45
"""``imported_model_name`` length limit: Bedrock allows 63 characters for the model and the job
name, and the handler appends ``-<8 hex>`` (source) to the model name and another ``-<8 hex>``
(request) to the job name."""

S3_URI = re.compile(
    r"^s3://[a-z0-9][-.a-z0-9]{1,61}[a-z0-9](?:/[-!_*'().a-z0-9A-Z]+(?:/[-!_*'().a-z0-9A-Z]+)*)?/?$"
)
"""botocore ``bedrock`` shape ``S3Uri`` (1-1,024 characters)."""

MODEL_NAME = re.compile(r"^([0-9a-zA-Z][_-]?)+$")
"""botocore ``bedrock`` shape ``ImportedModelName``."""

_ACCOUNT = re.compile(r"^\d{12}$")

OWNER_TAG_KEYS = ("ha-inference:stack-id", "ha-inference:logical-id")
"""The tags the handler puts on each model it imports, naming the resource that owns it (the
stack id and the logical id): an update never adopts another stack's model of the same name."""

BEDROCK_NAMESPACE = "AWS/Bedrock"


@dataclass(frozen=True)
class ImportedModelAlarms:
    """The alarms :meth:`ImportedModel.add_alarms` creates."""

    server_errors: cloudwatch.Alarm
    """``InvocationServerErrors`` in 3 consecutive minutes."""
    throttles: cloudwatch.Alarm
    """``InvocationThrottles`` in 3 consecutive minutes."""
    invocation_latency: cloudwatch.Alarm
    """Average ``InvocationLatency`` above the threshold."""


class ImportedModel(Construct):
    """A model imported into Amazon Bedrock from Amazon S3 (Hugging Face format), in the stack's
    Region, for on-demand inference with ``InvokeModel`` or ``Converse`` on :attr:`model_arn`.

    Resources: ``Resource`` (``Custom::BedrockImportedModel``), ``ImportRole`` (assumed by
    Bedrock for the import job), ``OnEvent`` and ``IsComplete`` (the shipped ``model_import``
    handler), ``HandlerRole``, ``Logs`` and ``Provider`` (aws-cdk-lib's provider framework with
    its waiter state machine); with ``keep_warm``, ``KeepWarm`` (the shipped ``keep_warm``
    handler), ``KeepWarmRole`` and ``KeepWarmSchedule`` (an EventBridge rule).

    * Bedrock hosts the model on demand, with no instances to spread over AZs (GENREL05-BP01
      step 1); an imported model serves only its own Region, so put one in each Region's stack;
    * a new ``s3_uri`` or key imports a new model beside the old one, which CloudFormation
      deletes after the update; a job that fails fails the deploy with its failure message and
      leaves no model behind;
    * the model is tagged with its owner (``ha-inference:stack-id``, ``ha-inference:logical-id``)
      and an update adopts an existing model of the new name only when those tags name this
      resource, so two stacks with the same name prefix never take each other's model; the
      handler may delete only models whose owner tags name this resource;
    * the import role trusts ``bedrock.amazonaws.com`` only for model import jobs of this
      account and Region (``aws:SourceAccount``, ``aws:SourceArn``), and may read only the
      objects under the source prefix, in a bucket of ``bucket_owner``; ``grant_invoke`` allows
      the invoke actions on exactly this model's ARN;
    * ``metric_*`` and the opt-in alarms (``add_alarms``) use ``ModelId`` = the model's ARN, a
      dimension value no AWS page confirms for imported models (see :meth:`metric`).
    """

    @checked_props
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        s3_uri: str,
        imported_model_name: str | None = None,
        imported_model_key: kms.IKey | None = None,
        bucket_owner: str | None = None,
        import_timeout: cdk.Duration = DEFAULT_IMPORT_TIMEOUT,
        removal_policy: cdk.RemovalPolicy = cdk.RemovalPolicy.DESTROY,
        require_converse: bool = True,
        keep_warm: cdk.Duration | None = None,
        log_encryption_key: kms.IKey | None = None,
    ) -> None:
        """
        :param s3_uri: The S3 folder holding the model in Hugging Face format (``config.json``,
            tokenizer files, ``.safetensors`` weights), for example
            ``s3://my-models-us-east-1/llama-3-8b-support/``. A bucket in the stack's Region is
            recommended (an S3 gateway endpoint reaches only its own Region).
        :param imported_model_name: Prefix of the imported model's name (at most 45 letters,
            digits, and single ``-`` or ``_`` between them). Default: derived from the stack
            name and construct path.
        :param imported_model_key: Customer managed key that encrypts the imported model.
            Default: an AWS owned key.
        :param bucket_owner: Account that owns the source bucket (the import role reads only
            buckets of this account). Default: the stack's account.
        :param import_timeout: How long a deploy waits for the import job (checking every 30
            seconds), in whole minutes from 5 to 55 (CloudFormation waits an hour for a custom
            resource). Default: 50 minutes.
        :param removal_policy: ``DESTROY`` deletes the imported model with the stack
            (``DeleteImportedModel``), ``RETAIN`` keeps it: delete it by hand before deploying
            the same stack again, whose create refuses an existing model name. Default:
            ``DESTROY``.
        :param require_converse: Fail the deploy when Bedrock reports, as the import completes,
            that the model does not support the Converse API (no chat template, or an
            architecture served through ``InvokeModel`` only); the rollback deletes it. Set
            ``False`` for a model you call with ``InvokeModel`` only. Default: ``True`` (the
            shipped retrieval handler calls Converse).
        :param keep_warm: How often a schedule calls the model (one Converse call with a
            one-token answer, through the shipped ``keep_warm`` handler) so that Bedrock keeps it
            loaded: Bedrock unloads an imported model it has not served for a while (typically
            an hour) and answers ``ModelNotReadyException`` until it has loaded it again. Whole
            minutes from 1 to 59; each call is billed like any other. Needs
            ``require_converse``. Default: no schedule.
        :param log_encryption_key: Customer managed key for the log group of the import
            handlers, the provider framework and the keep-warm function (a key defined in the
            app gets the policy statement CloudWatch Logs needs). Default: none, CloudWatch
            Logs' own encryption.
        """
        super().__init__(scope, construct_id)
        stack = cdk.Stack.of(self)
        self.region = _check_region(stack)
        self.partition = partition_of(self.region)
        self.bucket_name, self.key_prefix = parse_s3_uri(s3_uri)
        self.s3_uri = s3_uri
        self.imported_model_name = (
            _default_name(self)
            if imported_model_name is None
            else check_imported_model_name(imported_model_name)
        )
        claim_name(self, "Bedrock imported model", self.imported_model_name, "imported_model_name")
        _check_timeout(import_timeout)
        _check_removal_policy(removal_policy)
        if not isinstance(require_converse, bool):
            raise TypeError(
                f"require_converse must be True or False, got {type(require_converse).__name__} "
                f"{require_converse!r}"
            )
        self.require_converse = require_converse
        _check_keep_warm(keep_warm, require_converse)
        self.bucket_owner = _check_bucket_owner(bucket_owner, stack)
        self.imported_model_key = imported_model_key

        self.import_role = self._create_import_role()
        self.log_group = new_log_group(
            self,
            "Logs",
            retention=logs.RetentionDays.ONE_YEAR,
            encryption_key=log_encryption_key,
        )
        if log_encryption_key is None:
            acknowledge(
                self.log_group,
                "NIST.800.53.R5-CloudWatchLogGroupEncrypted",
                "No log_encryption_key was given: the log group holds deploy-time records of "
                "the import only (job and model names, job statuses, Bedrock error messages; no "
                "model data, prompts or answers), which CloudWatch Logs encrypts at rest with "
                "its own keys.",
            )
        self.handler_role = self._create_handler_role()
        self.on_event_handler = self._create_function("OnEvent", ShippedHandler.MODEL_IMPORT)
        self.is_complete_handler = self._create_function(
            "IsComplete", ShippedHandler.MODEL_IMPORT_IS_COMPLETE
        )
        self.resource = self._create_resource(import_timeout, removal_policy)

        self.model_arn: str = self.resource.get_att_string("ModelArn")
        """``arn:<partition>:bedrock:<region>:<account>:imported-model/<id>``, known at deploy;
        pass it as ``modelId`` to ``InvokeModel`` or ``Converse``."""
        self.model_name: str = self.resource.get_att_string("ModelName")
        """The imported model's full name, ``<imported_model_name>-<8 hex>``."""
        self.keep_warm_function: lambda_.Function | None = (
            None if keep_warm is None else self._create_keep_warm(keep_warm)
        )
        """The function the ``keep_warm`` schedule invokes (``None`` without one)."""
        mark_imported_model(
            self,
            {
                "importedModelName": self.imported_model_name,
                "region": self.region,
                "s3Uri": self.s3_uri,
                "bucketOwner": self.bucket_owner,
            },
        )

    # -- invoking -------------------------------------------------------------------------------

    @property
    def invoke_statements(self) -> tuple[PolicyStatementShape, ...]:
        """The invoke actions on exactly this model (for grants and endpoint policies)."""
        return (PolicyStatementShape(resources=(self.model_arn,)),)

    @property
    def invoke_resource_arns(self) -> tuple[str, ...]:
        """The ARN the invoke statements name: this model's, nothing else."""
        return (self.model_arn,)

    def grant_invoke(self, grantee: iam.IGrantable) -> iam.Grant:
        """Lets ``grantee`` invoke this model (InvokeModel, Converse, and their streaming forms),
        and decrypt it through Bedrock when it has a customer managed key."""
        grant = iam.Grant.add_to_principal(
            grantee=grantee, actions=list(INVOKE_ACTIONS), resource_arns=[self.model_arn]
        )
        if self.imported_model_key is not None:
            grant = grant.combine(
                iam.Grant.add_to_principal(
                    grantee=grantee,
                    actions=["kms:Decrypt"],
                    resource_arns=[self.imported_model_key.key_arn],
                    conditions=self._via_bedrock,
                )
            )
        return grant

    # -- metrics and alarms ---------------------------------------------------------------------

    def metric(
        self, metric_name: str, *, statistic: str = "Sum", period: cdk.Duration | None = None
    ) -> cloudwatch.Metric:
        """An ``AWS/Bedrock`` runtime metric of this model, dimension ``ModelId`` = the model's
        ARN (what callers pass as ``modelId``). Default: the ``Sum`` over one minute.

        The runtime metrics and their ``ModelId`` dimension are documented
        (https://docs.aws.amazon.com/bedrock/latest/userguide/monitoring-runtime-metrics.html);
        which value ``ModelId`` takes for an imported model (its ARN, or the id at the ARN's
        end) is not: no AWS page read says. Until a deployed account shows it (``aws cloudwatch
        list-metrics --namespace AWS/Bedrock``), an alarm on these metrics may watch a series
        that never gets data and so never fires. The answers of the function that invokes the
        model back it up (:class:`ha_inference.AnswerMetrics`: the reference app's retrieval
        function's 5xx share).
        """
        return cloudwatch.Metric(
            namespace=BEDROCK_NAMESPACE,
            metric_name=metric_name,
            dimensions_map={"ModelId": self.model_arn},
            statistic=statistic,
            period=period or cdk.Duration.minutes(1),
        )

    def metric_invocations(self) -> cloudwatch.Metric:
        """``Invocations``: requests to this model (Sum)."""
        return self.metric("Invocations")

    def metric_invocation_latency(self, *, statistic: str = "Average") -> cloudwatch.Metric:
        """``InvocationLatency`` in milliseconds, request sent to last token. Default: Average."""
        return self.metric("InvocationLatency", statistic=statistic)

    def metric_invocation_client_errors(self) -> cloudwatch.Metric:
        """``InvocationClientErrors``: invocations that ended in a client-side error (Sum)."""
        return self.metric("InvocationClientErrors")

    def metric_invocation_server_errors(self) -> cloudwatch.Metric:
        """``InvocationServerErrors``: invocations that ended in an AWS server-side error
        (Sum)."""
        return self.metric("InvocationServerErrors")

    def metric_invocation_throttles(self) -> cloudwatch.Metric:
        """``InvocationThrottles``: invocations Bedrock throttled (Sum; counted neither as
        invocations nor as errors)."""
        return self.metric("InvocationThrottles")

    def add_alarms(
        self, *, invocation_latency_threshold: cdk.Duration, evaluation_periods: int = 3
    ) -> ImportedModelAlarms:
        """Adds alarms (without actions; add yours) like the self-hosted endpoint's:

        * ``ServerErrorsAlarm``: server-side errors in ``evaluation_periods`` consecutive
          minutes;
        * ``ThrottlesAlarm``: throttled in ``evaluation_periods`` consecutive minutes (the SDK
          retries single throttles);
        * ``InvocationLatencyAlarm``: average latency above ``invocation_latency_threshold``.

        Missing data is not breaching: Bedrock publishes these only when the model is called.
        See :meth:`metric` for the one thing about them that only a deployed account can show.
        """
        if self.node.try_find_child("ServerErrorsAlarm") is not None:
            raise ValueError(
                f"add_alarms was already called on {self.node.path}; call it once and keep the "
                "returned alarms"
            )
        if isinstance(evaluation_periods, bool) or not isinstance(evaluation_periods, int):
            raise TypeError(
                f"evaluation_periods must be a whole number, got {evaluation_periods!r}"
            )
        if evaluation_periods < 1:
            raise ValueError(
                f"evaluation_periods must be at least 1 minute, got {evaluation_periods}"
            )
        if not isinstance(invocation_latency_threshold, cdk.Duration):
            raise TypeError(
                "invocation_latency_threshold must be a cdk.Duration, got "
                f"{invocation_latency_threshold!r}; pass e.g. cdk.Duration.seconds(30)"
            )
        latency_ms = invocation_latency_threshold.to_milliseconds()
        if not is_unresolved(latency_ms) and latency_ms <= 0:
            raise ValueError(
                "invocation_latency_threshold must be a positive duration, got "
                f"{invocation_latency_threshold.to_human_string()}; use the latency your "
                "callers can tolerate"
            )
        name = self.imported_model_name
        at_least_one = cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD
        not_breaching = cloudwatch.TreatMissingData.NOT_BREACHING
        errors = self.metric_invocation_server_errors().create_alarm(
            self,
            "ServerErrorsAlarm",
            alarm_description=f"Imported model {name}: server-side errors",
            threshold=1,
            evaluation_periods=evaluation_periods,
            comparison_operator=at_least_one,
            treat_missing_data=not_breaching,
        )
        throttles = self.metric_invocation_throttles().create_alarm(
            self,
            "ThrottlesAlarm",
            alarm_description=f"Imported model {name}: throttled",
            threshold=1,
            evaluation_periods=evaluation_periods,
            comparison_operator=at_least_one,
            treat_missing_data=not_breaching,
        )
        latency = self.metric_invocation_latency().create_alarm(
            self,
            "InvocationLatencyAlarm",
            alarm_description=(
                f"Imported model {name}: average latency above "
                f"{invocation_latency_threshold.to_human_string()}"
            ),
            threshold=latency_ms,
            evaluation_periods=evaluation_periods,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
            treat_missing_data=not_breaching,
        )
        return ImportedModelAlarms(
            server_errors=errors, throttles=throttles, invocation_latency=latency
        )

    # -- resources ------------------------------------------------------------------------------

    @property
    def _via_bedrock(self) -> dict[str, dict[str, str]]:
        return {"StringEquals": {"kms:ViaService": f"bedrock.{self.region}.amazonaws.com"}}

    def _arn(self, service: str, resource: str, *, region: str = "", account: str = "") -> str:
        return f"arn:{self.partition}:{service}:{region}:{account}:{resource}"

    def _create_import_role(self) -> iam.Role:
        """The role Bedrock assumes for the job: reads the source prefix, nothing else."""
        account = cdk.Stack.of(self).account
        list_condition: dict[str, dict[str, object]] = {
            "StringEquals": {"aws:ResourceAccount": self.bucket_owner}
        }
        if self.key_prefix:
            list_condition["StringLike"] = {
                "s3:prefix": [self.key_prefix.rstrip("/"), f"{self.key_prefix}*"]
            }
        object_arn = self._arn("s3", f"{self.bucket_name}/{self.key_prefix}*")
        role = iam.Role(
            self,
            "ImportRole",
            assumed_by=iam.ServicePrincipal(
                "bedrock.amazonaws.com",
                conditions={
                    "StringEquals": {"aws:SourceAccount": account},
                    "ArnEquals": {
                        "aws:SourceArn": self._arn(
                            "bedrock", "model-import-job/*", region=self.region, account=account
                        )
                    },
                },
            ),
            description="Bedrock Custom Model Import: reads the model files under one S3 prefix",
            inline_policies={
                "ReadModelFiles": iam.PolicyDocument(
                    statements=[
                        iam.PolicyStatement(
                            sid="ReadObjects",
                            actions=["s3:GetObject"],
                            resources=[object_arn],
                            conditions={"StringEquals": {"aws:ResourceAccount": self.bucket_owner}},
                        ),
                        iam.PolicyStatement(
                            sid="ListPrefix",
                            actions=["s3:ListBucket"],
                            resources=[self._arn("s3", self.bucket_name)],
                            conditions=list_condition,
                        ),
                    ]
                )
            },
        )
        acknowledge(
            role,
            wildcard_resource_finding(self, object_arn),
            "Bedrock reads every file of the model folder (config.json, tokenizer files and the "
            ".safetensors shards, whose names depend on the model), so the role may read the "
            "objects under that one prefix; listing is limited to the prefix by s3:prefix.",
        )
        acknowledge(role, "NIST.800.53.R5-IAMNoInlinePolicy", INLINE_POLICY)
        return role

    def _create_handler_role(self) -> iam.Role:
        """The handler's role: import jobs and imported models of this account and Region."""
        account = cdk.Stack.of(self).account
        jobs = self._arn("bedrock", "model-import-job/*", region=self.region, account=account)
        models = self._arn("bedrock", "imported-model/*", region=self.region, account=account)
        statements = [
            # The Service Authorization Reference lists no resource type for
            # CreateModelImportJob, so only "*" authorizes it (an ARN never matches).
            iam.PolicyStatement(
                sid="ImportModels", actions=["bedrock:CreateModelImportJob"], resources=["*"]
            ),
            iam.PolicyStatement(
                sid="FollowJobs", actions=["bedrock:GetModelImportJob"], resources=[jobs]
            ),
            iam.PolicyStatement(
                # Reading every model: Create and Update must see another stack's model of the
                # same name to refuse it rather than adopt it.
                sid="ReadModels",
                actions=["bedrock:GetImportedModel", "bedrock:ListTagsForResource"],
                resources=[models],
            ),
            iam.PolicyStatement(
                # Deleting only the models whose owner tags name this resource.
                sid="DeleteOwnModels",
                actions=["bedrock:DeleteImportedModel"],
                resources=[models],
                conditions={"StringEquals": self._owner_condition("aws:ResourceTag")},
            ),
            iam.PolicyStatement(
                # The owner tags only, naming only this resource, on a model (or job) that has
                # none yet or already names it: a model imported before the tags existed can be
                # tagged, another resource's cannot be taken over. Jobs too: should Bedrock
                # authorize CreateModelImportJob's tags as TagResource (the Service Authorization
                # Reference lists no dependent action for it), on the job or on the model.
                sid="TagModelsWithTheirOwner",
                actions=["bedrock:TagResource"],
                resources=[models, jobs],
                conditions={
                    "ForAllValues:StringEquals": {"aws:TagKeys": list(OWNER_TAG_KEYS)},
                    "StringEquals": self._owner_condition("aws:RequestTag"),
                    "StringEqualsIfExists": self._owner_condition("aws:ResourceTag"),
                },
            ),
            iam.PolicyStatement(
                sid="PassImportRole",
                actions=["iam:PassRole"],
                resources=[self.import_role.role_arn],
                conditions={"StringEquals": {"iam:PassedToService": "bedrock.amazonaws.com"}},
            ),
        ]
        if self.imported_model_key is not None:
            statements.append(
                iam.PolicyStatement(
                    sid="EncryptModel",
                    actions=[
                        "kms:CreateGrant",
                        "kms:DescribeKey",
                        "kms:GenerateDataKey",
                        "kms:Decrypt",
                    ],
                    resources=[self.imported_model_key.key_arn],
                    conditions=self._via_bedrock,
                )
            )
        role = iam.Role(
            self,
            "HandlerRole",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description="Imports one model into Bedrock and deletes it with the stack",
            inline_policies={"ImportModel": iam.PolicyDocument(statements=statements)},
        )
        self.log_group.grant_write(role)
        for arn in (jobs, models):
            acknowledge(
                role,
                wildcard_resource_finding(self, arn),
                "Bedrock names import jobs and imported models with ids it assigns when the job "
                "starts, so they cannot be named in advance; the statements are limited to this "
                "account and Region, reading is needed to refuse another stack's model of the "
                "same name, and deleting or tagging a model requires that its owner tags name "
                "this stack and resource (or, for tagging, that it has none yet).",
            )
        only_import_on_any = (
            "bedrock:CreateModelImportJob has no resource type in the Service Authorization "
            "Reference, so IAM authorizes it only on Resource '*'; that one action is on '*', "
            "every other statement names its resources."
        )
        # The same '*' as Serverless' LambdaStarPermissions sees it.
        acknowledge_all(
            role,
            {
                wildcard_resource_finding(self, "*"): only_import_on_any,
                "Serverless-LambdaStarPermissions": only_import_on_any,
            },
        )
        acknowledge(role, "NIST.800.53.R5-IAMNoInlinePolicy", INLINE_POLICY)
        return role

    def _owner_condition(self, key: str) -> dict[str, str]:
        """``<key>/<owner tag>``: this stack's id and the custom resource's logical id, the
        values the handler writes (CloudFormation's ``StackId`` and ``LogicalResourceId``)."""
        stack_tag, logical_tag = OWNER_TAG_KEYS
        return {
            f"{key}/{stack_tag}": cdk.Aws.STACK_ID,
            f"{key}/{logical_tag}": cdk.Lazy.uncached_string(_LogicalIdOfResource(self)),
        }

    def _create_keep_warm(self, every: cdk.Duration) -> lambda_.Function:
        """A function that calls the model once, invoked by a schedule every ``every``."""
        role = iam.Role(
            self,
            "KeepWarmRole",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description="Calls the imported model now and then so that Bedrock keeps it loaded",
        )
        self.grant_invoke(role)
        function = lambda_.Function(
            self,
            "KeepWarm",
            description=f"Keeps the imported model {self.imported_model_name} loaded",
            runtime=PYTHON_RUNTIME,
            architecture=lambda_.Architecture.ARM_64,
            handler=ShippedHandler.KEEP_WARM.value,
            code=handler_code(),
            timeout=cdk.Duration.minutes(1),
            memory_size=256,
            role=role,
            log_group=self.log_group,
            environment={"MODEL_ID": self.model_arn},
        )
        self.log_group.grant_write(role)
        schedule = events.Rule(
            self,
            "KeepWarmSchedule",
            description=f"Calls the imported model every {every.to_human_string()}",
            schedule=events.Schedule.rate(every),
            targets=[targets.LambdaFunction(function, retry_attempts=0)],
        )
        acknowledge(
            schedule,
            "Serverless-EventBusDLQ",
            "The schedule's event carries nothing but the time: a keep-warm call that could not "
            "be delivered is simply the next scheduled one (retries are off on purpose), so a "
            "dead-letter queue would hold empty events nobody acts on.",
        )
        acknowledge_all(function, KEEP_WARM_FUNCTION)
        acknowledge(role, "NIST.800.53.R5-IAMNoInlinePolicy", INLINE_POLICY)
        return function

    def _create_function(self, construct_id: str, handler: ShippedHandler) -> lambda_.Function:
        function = lambda_.Function(
            self,
            construct_id,
            description=f"Bedrock Custom Model Import of {self.imported_model_name}",
            runtime=PYTHON_RUNTIME,
            architecture=lambda_.Architecture.ARM_64,
            handler=handler.value,
            code=handler_code(),
            timeout=cdk.Duration.minutes(2),
            memory_size=256,
            role=self.handler_role,
            log_group=self.log_group,
        )
        acknowledge_all(
            function,
            DEPLOY_TIME_HANDLER,
        )
        return function

    def _create_resource(
        self, import_timeout: cdk.Duration, removal_policy: cdk.RemovalPolicy
    ) -> cdk.CustomResource:
        provider = HandlerProvider(
            self,
            "Provider",
            on_event=self.on_event_handler,
            is_complete=self.is_complete_handler,
            query_interval=QUERY_INTERVAL,
            total_timeout=import_timeout,
            log_group=self.log_group,
        )
        properties: dict[str, str] = {
            "ImportedModelName": self.imported_model_name,
            "S3Uri": self.s3_uri,
            "RoleArn": self.import_role.role_arn,
            "RequireConverse": "true" if self.require_converse else "false",
        }
        if self.imported_model_key is not None:
            properties["ImportedModelKmsKeyId"] = self.imported_model_key.key_arn
        resource = cdk.CustomResource(
            self,
            "Resource",
            service_token=provider.service_token,
            resource_type="Custom::BedrockImportedModel",
            # The waiter gives up first and answers; CloudFormation's own limit is one hour.
            service_timeout=cdk.Duration.minutes(min(60, int(import_timeout.to_minutes()) + 5)),
            properties=properties,
            removal_policy=removal_policy,
        )
        return resource


@jsii.implements(cdk.IStringProducer)
class _LogicalIdOfResource:
    """The logical id of the model's custom resource, known once the resource exists (the
    handler's role is made before it)."""

    def __init__(self, model: ImportedModel) -> None:
        self._model = model

    def produce(self, context: cdk.IResolveContext) -> str:
        resource = self._model.resource.node.default_child
        assert isinstance(resource, cdk.CfnResource)
        return cdk.Stack.of(resource).get_logical_id(resource)


def parse_s3_uri(s3_uri: str) -> tuple[str, str]:
    """``(bucket, key prefix)`` of an ``s3://`` folder; the prefix is ``""`` or ends with ``/``."""
    if not isinstance(s3_uri, str):
        raise TypeError(f"s3_uri must be a string like 's3://bucket/folder/', got {s3_uri!r}")
    if is_unresolved(s3_uri):
        raise TypeError(
            f"s3_uri must be a literal s3:// URI (the import role is scoped to its bucket and "
            f"prefix at synth time), got a deploy-time token {s3_uri!r}; pass the URI as a string"
        )
    if not s3_uri.startswith("s3://"):
        raise ValueError(
            f"s3_uri must be an s3:// URI of the model folder, got {s3_uri!r}; for example "
            "s3://my-models-us-east-1/llama-3-8b-support/"
        )
    if len(s3_uri) > 1024 or not S3_URI.match(s3_uri):
        raise ValueError(
            f"s3_uri must match Bedrock's S3Uri pattern (a bucket name of 3-63 lowercase letters, "
            f"digits, dots and hyphens, then folder names of letters, digits and -!_*'().), got "
            f"{s3_uri!r}; rename the folder or copy the model to such a path"
        )
    bucket, _, key = s3_uri[len("s3://") :].partition("/")
    key = key.rstrip("/")
    return bucket, f"{key}/" if key else ""


def check_imported_model_name(name: str) -> str:
    """Raises unless ``name`` can prefix Bedrock's model and job names (see the handler)."""
    if is_unresolved(name):
        raise TypeError(
            f"imported_model_name must be a literal string (it is claimed per account and "
            f"Region at synth time), got a deploy-time token {name!r}"
        )
    if (
        not isinstance(name, str)
        or not 1 <= len(name) <= NAME_PREFIX_MAX
        or not MODEL_NAME.match(name)
        or name[-1] in "-_"
    ):
        raise ValueError(
            f"imported_model_name must be 1-{NAME_PREFIX_MAX} letters and digits with single "
            f"'-' or '_' between them (Bedrock's ImportedModelName pattern {MODEL_NAME.pattern}, "
            f"less the 18 characters the import adds), got {name!r}; for example "
            "'llama3-support'"
        )
    return name


def _default_name(scope: Construct) -> str:
    raw = cdk.Names.unique_resource_name(
        scope, max_length=NAME_PREFIX_MAX, separator="-", allowed_special_characters="-"
    )
    return check_imported_model_name(re.sub(r"-{2,}", "-", raw).strip("-"))


def _check_region(stack: cdk.Stack) -> str:
    region = concrete_region("ImportedModel", stack)
    if region not in CUSTOM_MODEL_IMPORT_REGIONS:
        raise ValueError(
            f"ImportedModel cannot be created in {region}: Amazon Bedrock Custom Model Import is "
            f"offered in {', '.join(sorted(CUSTOM_MODEL_IMPORT_REGIONS))} (Bedrock user guide, "
            f"checked {CUSTOM_MODEL_IMPORT_DATE}); deploy this stack to one of those Regions, or "
            "serve the model in this Region another way (a cross-Region inference profile or a "
            "MultiAzSageMakerEndpoint)"
        )
    return region


def _check_timeout(timeout: cdk.Duration) -> None:
    if not isinstance(timeout, cdk.Duration) or timeout.is_unresolved():
        raise TypeError(
            f"import_timeout must be a literal cdk.Duration, got {timeout!r}; for example "
            "cdk.Duration.minutes(50)"
        )
    seconds = timeout.to_seconds()
    if seconds % 60 or not 5 <= seconds // 60 <= MAX_IMPORT_TIMEOUT_MINUTES:
        raise ValueError(
            f"import_timeout must be a whole number of minutes from 5 to "
            f"{MAX_IMPORT_TIMEOUT_MINUTES} (CloudFormation waits at most an hour for a custom "
            f"resource), got {timeout.to_human_string()}; for a longer import, import the model "
            "once outside CloudFormation and grant its ARN"
        )


KEEP_WARM_FUNCTION = {
    "Serverless-LambdaTracing": (
        "The function makes one Converse call with a fixed one-word prompt per schedule; its "
        "outcome is in the function's log and Errors metric, and the model's own latency in "
        "the AWS/Bedrock metrics, so an X-Ray trace (and X-Ray permissions on '*') would add "
        "nothing to act on."
    ),
    "NIST.800.53.R5-LambdaConcurrency": NO_RESERVED_CONCURRENCY,
    "NIST.800.53.R5-LambdaDLQ": (
        "The schedule invokes the function asynchronously with no retries; a failed keep-warm "
        "call is counted in the function's Errors metric, and the next scheduled call is the "
        "retry, so a dead-letter queue would hold nothing worth acting on."
    ),
    "NIST.800.53.R5-LambdaInsideVPC": (
        "The function sends one fixed one-word prompt to the model through Bedrock's regional "
        "endpoint and handles no application data; the construct has no VPC to place it in, "
        "as its other functions (Bedrock's control plane) have none."
    ),
}
"""What NIST 800-53 asks of the scheduled keep-warm function, and why it does not apply."""


def _check_keep_warm(every: cdk.Duration | None, require_converse: bool) -> None:
    if every is None:
        return
    if not isinstance(every, cdk.Duration) or every.is_unresolved():
        raise TypeError(
            f"keep_warm must be a literal cdk.Duration, got {every!r}; for example "
            "cdk.Duration.minutes(30)"
        )
    seconds = every.to_seconds()
    if seconds % 60 or not 1 <= seconds // 60 <= 59:
        raise ValueError(
            f"keep_warm must be a whole number of minutes from 1 to 59 (Bedrock unloads an "
            f"imported model after about an hour without calls), got {every.to_human_string()}; "
            "for example cdk.Duration.minutes(30)"
        )
    if not require_converse:
        raise ValueError(
            "keep_warm needs require_converse=True: the schedule calls the model with Converse, "
            "which a model without Converse support refuses; leave keep_warm out, or import a "
            "model with a chat template"
        )


def _check_removal_policy(policy: cdk.RemovalPolicy) -> None:
    if policy not in (
        cdk.RemovalPolicy.DESTROY,
        cdk.RemovalPolicy.RETAIN,
        cdk.RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE,
    ):
        raise ValueError(
            f"removal_policy must be RemovalPolicy.DESTROY or RemovalPolicy.RETAIN, got "
            f"{policy!r}; an imported model has no snapshot"
        )


def _check_bucket_owner(owner: str | None, stack: cdk.Stack) -> str:
    if owner is None:
        return stack.account
    if not isinstance(owner, str) or not _ACCOUNT.match(owner):
        raise ValueError(
            f"bucket_owner must be the 12-digit id of the account that owns the source bucket, "
            f"got {owner!r}; leave it out for a bucket of the stack's account"
        )
    return owner

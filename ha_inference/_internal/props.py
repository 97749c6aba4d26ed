"""The kind of every public prop, checked against its annotation before a construct is built.

jsii checks the arguments of aws-cdk-lib's own calls, but only deep inside a construct, and
its message names aws-cdk-lib's parameter, not the prop the user passed. ``@checked_props``
checks each argument of a public constructor or function against the annotation it is
declared with, first, and raises ``TypeError`` with the house message: the prop, what was
given, and the fix (``vpc_subnets must be one ec2.SubnetSelection, got a list of 2; ...``).
Dataclasses call :func:`check_fields` from ``__post_init__``.

What counts as a match: ``bool`` is never an ``int`` or a ``float`` (``True`` is not a count);
a string is never a list of strings; a jsii interface (``ec2.IVpc``) matches the objects that
declare it (``__jsii_ifaces__``, including interfaces it extends) and jsii's proxies of
imported resources; an unresolved token matches any string or number annotation.
"""

from __future__ import annotations

import dataclasses
import enum
import functools
import inspect
import types
import typing
from collections import abc
from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar

import aws_cdk as cdk

from ha_inference._internal.tokens import is_unresolved

F = TypeVar("F", bound=Callable[..., Any])

_SEQUENCES = (abc.Sequence, abc.Iterable, abc.Collection, list, tuple, frozenset, set, abc.Set)
_MAPPINGS = (abc.Mapping, dict)
_SKIPPED = frozenset({"self", "cls"})

_MODULE_ALIASES = {
    "aws_cdk": "cdk",
    "aws_cdk.aws_lambda": "lambda_",
    "aws_cdk.aws_elasticloadbalancingv2": "elbv2",
    "aws_cdk.aws_opensearchserverless": "aoss",
    "constructs": "",
}

EXAMPLES: dict[str, str] = {
    "aws_cdk.aws_ec2.IVpc": "an ec2.Vpc, or ec2.Vpc.from_vpc_attributes(...) for another",
    "aws_cdk.aws_ec2.SubnetSelection": "ec2.SubnetSelection(subnet_group_name='<group>')",
    "aws_cdk.aws_ec2.IConnectable": "a construct with .connections (a function, an endpoint)",
    "aws_cdk.aws_kms.IKey": "a kms.Key, or kms.Key.from_key_arn(...) for one defined elsewhere",
    "aws_cdk.aws_iam.IRole": "an iam.Role, or iam.Role.from_role_arn(...)",
    "aws_cdk.aws_iam.IGrantable": "a function, a role or another grantable construct",
    "aws_cdk.aws_iam.ArnPrincipal": "iam.ArnPrincipal('arn:aws:iam::111111111111:root')",
    "aws_cdk.aws_lambda.IFunction": "a lambda_.Function (or a MultiAzFunction's .function)",
    "aws_cdk.aws_lambda.Code": "handler_code() or lambda_.Code.from_asset('<folder>')",
    "aws_cdk.aws_cloudwatch.IAlarm": "a cloudwatch.Alarm, or Alarm.from_alarm_arn(...)",
    "aws_cdk.Duration": "a cdk.Duration, e.g. cdk.Duration.minutes(n) or cdk.Duration.seconds(n)",
    "aws_cdk.Size": "cdk.Size.mebibytes(512)",
    "aws_cdk.Stage": "a cdk.Stage holding the Region's stacks",
    "constructs.Construct": "the stack (or a construct in it): Construct(stack, 'Id', ...)",
    "constructs.IConstruct": "the app, a stack or a construct in one",
    "ha_inference.selfhosted.load_balancer.ZonalAutoshiftOptions": (
        "ZonalAutoshiftOptions(outcome_alarms=[...]): ARC judges each practice run by an "
        "outcome alarm, so zonal autoshift cannot be turned on without one"
    ),
}
"""What to pass, per type the props take (the fix part of a message)."""


def checked_props(function: F) -> F:
    """Checks every argument of ``function`` against its annotation before it runs."""
    signature = inspect.signature(function)

    @functools.wraps(function)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        bound = signature.bind_partial(*args, **kwargs)
        check_arguments(function, bound.arguments)
        return function(*args, **kwargs)

    return typing.cast(F, wrapper)


def check_fields(instance: Any) -> None:
    """Checks every field of a dataclass instance against its annotation."""
    cls = type(instance)
    fields = {field.name: getattr(instance, field.name) for field in dataclasses.fields(cls)}
    check_arguments(cls, fields, owner=cls.__name__)


def check_arguments(
    function: Callable[..., Any], arguments: Mapping[str, Any], *, owner: str | None = None
) -> None:
    """Raises ``TypeError`` naming the first argument that does not match its annotation
    (``owner.name`` for a field of ``owner``)."""
    hints = _hints(function)
    for name, value in arguments.items():
        if name in _SKIPPED or name not in hints:
            continue
        check_value(name, value, hints[name], label=f"{owner}.{name}" if owner else name)


def check_value(prop: str, value: Any, hint: Any, *, label: str | None = None) -> None:
    """Raises ``TypeError`` when ``value`` does not match ``hint``, naming ``prop`` (and the
    first item that does not match, ``prop[2]``, in a list or dict of the right kind)."""
    if matches(value, hint):
        return
    label = label or prop
    item = _wrong_item(value, hint)
    if item is not None:
        key, wrong, item_hint = item
        raise TypeError(
            f"{label}[{key!r}] must be {describe(item_hint)}, got {shown(wrong)}; "
            f"{fix(f'{prop}[{key!r}]', wrong, item_hint)}"
        )
    optional = " (or None for the default)" if _optional(hint) and value is not None else ""
    raise TypeError(
        f"{label} must be {describe(hint)}, got {shown(value)}; {fix(prop, value, hint)}{optional}"
    )


def _optional(hint: Any) -> bool:
    return typing.get_origin(hint) in (typing.Union, types.UnionType) and type(None) in (
        typing.get_args(hint)
    )


def _wrong_item(value: Any, hint: Any) -> tuple[Any, Any, Any] | None:
    """(key, item, its annotation) of the first wrong item, when ``value`` is a list or dict
    that one alternative of ``hint`` takes except for some items."""
    for kind in _alternatives(hint):
        origin, args = typing.get_origin(kind), typing.get_args(kind)
        if origin in _MAPPINGS and isinstance(value, abc.Mapping) and len(args) == 2:
            for key, item in value.items():
                if not matches(key, args[0]):
                    return None
                if not matches(item, args[1]):
                    return key, item, args[1]
        if (
            origin in _SEQUENCES
            and origin is not tuple
            and isinstance(value, list | tuple)
            and len(value) > 0
            and args
        ):
            for index, item in enumerate(value):
                if not matches(item, args[0]):
                    return index, item, args[0]
    return None


@functools.cache
def _hints(function: Callable[..., Any]) -> dict[str, Any]:
    target = function.__init__ if inspect.isclass(function) else function
    if inspect.isclass(function) and dataclasses.is_dataclass(function):
        return typing.get_type_hints(function)
    return typing.get_type_hints(inspect.unwrap(target))


# --------------------------------------------------------------------------------- matching


def matches(value: Any, hint: Any) -> bool:
    """Whether ``value`` is of the kind ``hint`` describes (see the module docstring)."""
    if hint is Any or isinstance(hint, TypeVar):
        return True
    if hint is None or hint is type(None):
        return value is None
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        return any(matches(value, arg) for arg in args)
    if origin is typing.Literal:
        return value in args
    if origin in _MAPPINGS:
        if not isinstance(value, abc.Mapping):
            return False
        key, item = args or (Any, Any)
        return all(matches(k, key) and matches(v, item) for k, v in value.items())
    if origin in _SEQUENCES:
        return _matches_sequence(value, origin, args)
    if origin is abc.Callable:
        return callable(value)
    if origin is not None:
        return isinstance(value, origin)
    return _matches_class(value, hint)


def _matches_sequence(value: Any, origin: Any, args: tuple[Any, ...]) -> bool:
    if value is None or isinstance(value, str | bytes | abc.Mapping):
        return False
    if origin is tuple and not isinstance(value, tuple | list):
        return False
    if origin in (list, abc.Sequence) and not isinstance(value, abc.Sequence):
        return False
    if not isinstance(value, abc.Iterable) or isinstance(value, abc.Iterator):
        return False  # an iterator would be used up by the check
    if origin is tuple and args and args[-1] is not Ellipsis:
        items = list(value)
        return len(items) == len(args) and all(map(matches, items, args))
    item = args[0] if args else Any
    return all(matches(v, item) for v in value)


def _matches_class(value: Any, hint: Any) -> bool:
    if not inspect.isclass(hint):
        return True  # a form this checker does not know: leave it to the construct
    if hint in (int, float):
        if isinstance(value, bool):
            return False
        if isinstance(value, int | float) and is_unresolved(value):
            return True
        return isinstance(value, int) if hint is int else isinstance(value, int | float)
    if hint is str:
        return isinstance(value, str)
    if _is_jsii_interface(hint):
        return implements(value, hint)
    if getattr(hint, "_is_protocol", False):
        return isinstance(value, hint) if _runtime_checkable(hint) else True
    return isinstance(value, hint)


def _is_jsii_interface(hint: Any) -> bool:
    return bool(getattr(hint, "_is_protocol", False)) and hasattr(hint, "__jsii_type__")


def _runtime_checkable(hint: Any) -> bool:
    return bool(getattr(hint, "_is_runtime_protocol", False))


def implements(value: Any, interface: Any) -> bool:
    """Whether ``value`` declares the jsii ``interface`` (or one extending it)."""
    delegates = getattr(value, "_delegates", None)
    if isinstance(delegates, list):  # jsii's proxy of an imported resource
        return any(implements(delegate, interface) for delegate in delegates)
    proxy = interface.__jsii_proxy_class__()
    for klass in type(value).__mro__:
        if klass is interface or klass is proxy:
            return True
        for declared in getattr(klass, "__jsii_ifaces__", ()):
            if interface in getattr(declared, "__mro__", ()):
                return True
    return False


# --------------------------------------------------------------------------------- messages


def describe(hint: Any) -> str:
    """``hint`` in words: ``an ec2.IVpc``, ``a list of cloudwatch.IAlarm``..."""
    if hint is Any:
        return "anything"
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        return " or ".join(describe(arg) for arg in args if arg is not type(None))
    if origin is typing.Literal:
        return "one of " + ", ".join(repr(arg) for arg in args)
    if origin in _MAPPINGS:
        key, item = args or (Any, Any)
        return f"a dict of {_name(key)} to {_name(item)}"
    if origin in _SEQUENCES:
        item = args[0] if args else Any
        return f"a list of {_name(item)}"
    if hint is bool:
        return "True or False"
    if hint is int:
        return "a whole number"
    if hint is float:
        return "a number"
    if hint is str:
        return "a string"
    return _article(_name(hint))


def _name(hint: Any) -> str:
    if hint is Any:
        return "anything"
    origin = typing.get_origin(hint)
    if origin is not None:
        return describe(hint)
    if not inspect.isclass(hint):
        return str(hint)
    if hint in (bool, int, float, str):
        return {bool: "bool", int: "int", float: "number", str: "str"}[hint]
    module = hint.__module__
    if module.startswith("ha_inference"):
        return hint.__qualname__
    alias = _MODULE_ALIASES.get(module, module.rsplit(".", 1)[-1].removeprefix("aws_"))
    return f"{alias}.{hint.__qualname__}" if alias else hint.__qualname__


def shown(value: Any) -> str:
    """``value`` as a message shows it: short, without object addresses."""
    if value is None or isinstance(value, bool | int | float):
        return repr(value)
    if isinstance(value, str):
        return repr(value) if len(value) <= 80 else repr(value[:77] + "...")
    if isinstance(value, list | tuple):
        kinds = sorted({type(v).__name__ for v in value})
        return f"a {type(value).__name__} of {len(value)} ({', '.join(kinds) or 'empty'})"
    if isinstance(value, abc.Mapping):
        return f"a dict with keys {', '.join(repr(k) for k in list(value)[:6])}"
    return _article(type(value).__name__)


def _article(name: str) -> str:
    return f"{'an' if name[:1].lower() in 'aeiou' else 'a'} {name}"


def fix(prop: str, value: Any, hint: Any) -> str:
    """What to pass instead (the fix part of the message)."""
    kinds = _alternatives(hint)
    singles = [k for k in kinds if typing.get_origin(k) not in (*_SEQUENCES, *_MAPPINGS)]
    sequences = [k for k in kinds if typing.get_origin(k) in _SEQUENCES]
    if value is None:
        return f"{prop} is required: pass {_example(kinds[0])}"
    for kind in sequences:
        item = (typing.get_args(kind) or (Any,))[0]
        if matches(value, item) and not isinstance(value, str):
            return f"wrap it in a list: {prop}=[{prop}]"
        if isinstance(value, str) and matches([value], kind):
            return f"wrap the string in a list: {prop}=[{value!r}]"
    if isinstance(value, list | tuple) and value:
        for kind in singles:
            if all(matches(v, kind) for v in value):
                return f"pass one {_name(kind)}, not a list{_one_of_many(kind)}"
    for kind in kinds:
        remedy = _remedy(prop, value, kind)
        if remedy:
            return remedy
    return "pass " + " or ".join(_example(kind) for kind in kinds)


def _alternatives(hint: Any) -> list[Any]:
    if typing.get_origin(hint) in (typing.Union, types.UnionType):
        return [arg for arg in typing.get_args(hint) if arg is not type(None)]
    return [hint]


def _one_of_many(kind: Any) -> str:
    if _qualified(kind) == "aws_cdk.aws_ec2.SubnetSelection":
        return (
            " (one selection can take several subnet groups: "
            "ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_ISOLATED))"
        )
    return ""


def _remedy(prop: str, value: Any, kind: Any) -> str | None:
    """A fix for a value of a known wrong kind, or None."""
    if isinstance(value, bool) and kind in (int, float):
        return f"pass a number: {prop}=True is not a count"
    if kind is bool and not isinstance(value, bool):
        return f"pass {prop}=True or {prop}=False"
    if inspect.isclass(kind) and issubclass(kind, enum.Enum):
        for member in kind:
            if value in (member.value, member.name):
                return f"pass {_name(kind)}.{member.name}"
        return "pass one of " + ", ".join(f"{_name(kind)}.{m.name}" for m in kind)
    if inspect.isclass(kind) and dataclasses.is_dataclass(kind):
        return _dataclass_remedy(value, kind)
    wrapped = _wrapped(value, kind)
    if wrapped:
        return f"pass its .{wrapped}: {prop}=<the {type(value).__name__}>.{wrapped}"
    sequence = typing.get_origin(kind) in _SEQUENCES
    item = (typing.get_args(kind) or (Any,))[0] if sequence else None
    if sequence and not isinstance(value, str | bytes):
        parts = _wrapped_all(value, item)
        if parts:
            listed = ", ".join(f"<the {type(value).__name__}>.{p}" for p in parts)
            return f"list what you want from it: {prop}=[{listed}]"
    return None


def _dataclass_remedy(value: Any, kind: Any) -> str:
    fields = [f for f in dataclasses.fields(kind) if f.init]
    if isinstance(value, abc.Mapping):
        names = {f.name for f in fields}
        known = [k for k in value if isinstance(k, str) and k in names]
        if len(known) == len(value):
            arguments = ", ".join(f"{k}=..." for k in known)
            return f"build it with {kind.__qualname__}({arguments}) instead of a dict"
        # Keys that are not fields (a setting's name such as 'model-data'): name the fields.
        required = [f.name for f in fields if _required(f)]
        arguments = ", ".join(f"{k}=..." for k in required) or "..."
        return (
            f"build it with {kind.__qualname__}({arguments}, ...) instead of a dict; its fields "
            f"are {', '.join(sorted(names))}"
        )
    if isinstance(value, str) and any(f.name == "name" for f in fields):
        return f"pass {kind.__qualname__}(name={value!r})"
    return f"pass {_example(kind)}"


def _required(field: dataclasses.Field[Any]) -> bool:
    return field.default is dataclasses.MISSING and field.default_factory is dataclasses.MISSING


def _wrapped(value: Any, kind: Any) -> str | None:
    """The public attribute of ``value`` that is a ``kind`` (a construct's primary child)."""
    if value is None or isinstance(value, str | int | float | list | tuple | abc.Mapping):
        return None
    for name, attribute in sorted(_public_attributes(value).items()):
        if matches(attribute, kind):
            return name
    return None


def _wrapped_all(value: Any, kind: Any) -> list[str]:
    if value is None or isinstance(value, int | float | abc.Mapping):
        return []
    return sorted(n for n, a in _public_attributes(value).items() if matches(a, kind))


def _public_attributes(value: Any) -> dict[str, Any]:
    try:
        attributes = vars(value)
    except TypeError:
        return {}
    return {k: v for k, v in attributes.items() if not k.startswith("_") and v is not None}


def _qualified(kind: Any) -> str:
    return f"{getattr(kind, '__module__', '')}.{getattr(kind, '__qualname__', kind)}"


def _example(kind: Any) -> str:
    known = EXAMPLES.get(_qualified(kind))
    if known:
        return known
    if inspect.isclass(kind) and dataclasses.is_dataclass(kind):
        required = [
            f"{f.name}=..."
            for f in dataclasses.fields(kind)
            if f.init
            and f.default is dataclasses.MISSING
            and f.default_factory is dataclasses.MISSING
        ]
        return f"{kind.__qualname__}({', '.join(required)})"
    if typing.get_origin(kind) in _SEQUENCES:
        item = (typing.get_args(kind) or (Any,))[0]
        return f"a list of {_name(item)}: [...]"
    return describe(kind)


# Hand-written checks of the L3 constructs' option values (ranges and shapes that an
# annotation alone cannot say).


def given(value: Any) -> str:
    """What was passed, for a message: its type and a short repr."""
    text = repr(value)
    if len(text) > 80:
        text = text[:77] + "..."
    return f"{type(value).__name__} {text}"


def check_instance(prop: str, value: Any, kind: type | tuple[type, ...], fix: str) -> None:
    if not isinstance(value, kind):
        raise TypeError(f"{prop} must be {fix}, got {given(value)}")


def check_optional(prop: str, value: Any, kind: type | tuple[type, ...], fix: str) -> None:
    if value is not None:
        check_instance(prop, value, kind, fix)


def check_bool(prop: str, value: Any) -> None:
    if not isinstance(value, bool):
        raise TypeError(f"{prop} must be True or False, got {given(value)}")


def check_str(prop: str, value: Any, example: str) -> None:
    if not isinstance(value, str):
        raise TypeError(f"{prop} must be a string such as {example!r}, got {given(value)}")


def check_optional_str(prop: str, value: Any, example: str) -> None:
    if value is not None:
        check_str(prop, value, example)


def check_whole(prop: str, value: Any, *, minimum: int, fix: str) -> None:
    """A whole number (never a bool) of at least ``minimum``; tokens pass unchecked."""
    number = isinstance(value, int | float) and not isinstance(value, bool)
    if number and cdk.Token.is_unresolved(value):
        return
    if not isinstance(value, int) or isinstance(value, bool):
        raise TypeError(f"{prop} must be a whole number, got {given(value)}; {fix}")
    if value < minimum:
        raise ValueError(f"{prop} must be at least {minimum}, got {value}; {fix}")


def check_duration(prop: str, value: Any, example: str) -> None:
    if not isinstance(value, cdk.Duration):
        raise TypeError(f"{prop} must be a cdk.Duration such as {example}, got {given(value)}")


def check_strings(prop: str, value: Any, example: str) -> None:
    """A list of strings (a single string is refused: it would be read letter by letter)."""
    if isinstance(value, str | bytes) or not isinstance(value, Sequence):
        raise TypeError(f"{prop} must be a list of strings such as {example}, got {given(value)}")
    for index, item in enumerate(value):
        if not isinstance(item, str):
            raise TypeError(
                f"{prop}[{index}] must be a string such as {example}, got {given(item)}"
            )


def check_string_map(prop: str, value: Any, example: str) -> None:
    if not isinstance(value, Mapping) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in value.items()
    ):
        raise TypeError(
            f"{prop} must map names to string values such as {example}, got {given(value)}"
        )


def is_key(value: Any) -> bool:
    """Whether ``value`` is a ``kms.IKey`` (jsii interfaces cannot be used with isinstance)."""
    return hasattr(value, "key_arn") and hasattr(value, "grant_encrypt_decrypt")


def is_vpc(value: Any) -> bool:
    """Whether ``value`` is an ``ec2.IVpc``."""
    return hasattr(value, "vpc_id") and hasattr(value, "select_subnets")


def check_key(prop: str, value: Any) -> None:
    if value is not None and not is_key(value):
        raise TypeError(
            f"{prop} must be a kms.IKey (a kms.Key, or kms.Key.from_key_arn(...)), got "
            f"{given(value)}; pass the key construct, not its ARN or alias"
        )


def check_vpc(prop: str, value: Any) -> None:
    if not is_vpc(value):
        raise TypeError(
            f"{prop} must be an ec2.IVpc (an ec2.Vpc, or ec2.Vpc.from_lookup/"
            f"from_vpc_attributes), got {given(value)}; pass the VPC construct, not its id"
        )

"""A construct's stack, and a stack's Region and account, each read once.

Every read is a round trip to the jsii kernel, and the constructs ask the same few questions
many times per stack (``cdk.Stack.of(self)`` in each check, the stack's Region for every ARN
and name). None of the answers can change: a construct's scope is fixed when it is made, so its
stack is too, and a stack's ``region`` and ``account`` are set in its constructor. They are kept
per Python object, weakly (nothing outlives the app's objects); an object jsii hands out anew
(a construct made in JavaScript and reached again) is simply asked again.
"""

from __future__ import annotations

import weakref

import aws_cdk as cdk
from constructs import IConstruct

_STACKS: weakref.WeakKeyDictionary[IConstruct, cdk.Stack] = weakref.WeakKeyDictionary()
_REGIONS: weakref.WeakKeyDictionary[cdk.Stack, str] = weakref.WeakKeyDictionary()
_ACCOUNTS: weakref.WeakKeyDictionary[cdk.Stack, str] = weakref.WeakKeyDictionary()


def stack_of(scope: IConstruct) -> cdk.Stack:
    """``cdk.Stack.of(scope)``."""
    stack = _STACKS.get(scope)
    if stack is None:
        stack = _STACKS[scope] = cdk.Stack.of(scope)
    return stack


def region_of(stack: cdk.Stack) -> str:
    """``stack.region`` (a token for an environment-agnostic stack)."""
    region = _REGIONS.get(stack)
    if region is None:
        region = _REGIONS[stack] = stack.region
    return region


def account_of(stack: cdk.Stack) -> str:
    """``stack.account`` (a token for an environment-agnostic stack)."""
    account = _ACCOUNTS.get(stack)
    if account is None:
        account = _ACCOUNTS[stack] = stack.account
    return account

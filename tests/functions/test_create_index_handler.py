"""The VectorIndex custom-resource handler against a local stand-in for the collection."""

from __future__ import annotations

import io
import json
import urllib.error
from email.message import Message
from typing import Any

import pytest
from botocore.credentials import Credentials
from hypothesis import given, settings
from hypothesis import strategies as st

from ha_inference.functions import create_index
from ha_inference.functions.resilience import Backoff
from ha_inference.functions.vector_index import DEFAULT_INDEX, IndexDefinition
from tests.support.clock import FakeClock
from tests.support.collection_stub import (
    ACCOUNT,
    DENIED,
    CollectionServer,
    Context,
    Reply,
    check_recorded,
)

pytestmark = pytest.mark.usefixtures("fake_credentials")

NOT_FOUND = {
    "error": {
        "root_cause": [{"type": "index_not_found_exception", "reason": "no such index [passages]"}],
        "type": "index_not_found_exception",
        "reason": "no such index [passages]",
    },
    "status": 404,
}
EXISTS = {
    "error": {"type": "resource_already_exists_exception", "reason": "index [passages] exists"},
    "status": 400,
}
BUDGET = 600.0 - create_index.RESERVE_SECONDS


def described(definition: IndexDefinition = DEFAULT_INDEX) -> dict[str, Any]:
    """What ``GET /<index>`` answers for an index created with ``definition``."""
    mapping = definition.mapping()
    return {
        definition.name: {
            "aliases": {},
            "mappings": mapping["mappings"],
            "settings": {"index": {"knn": "true", "number_of_shards": "2"}},
        }
    }


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


def event(
    endpoint: str,
    request_type: str = "Create",
    index: IndexDefinition = DEFAULT_INDEX,
    **extra: Any,
) -> dict[str, Any]:
    return {
        "RequestType": request_type,
        "LogicalResourceId": "VectorIndex",
        "ResourceProperties": {
            "ServiceToken": "arn:aws:lambda:us-east-1:111111111111:function:framework",
            "CollectionEndpoint": endpoint,
            "Index": index.to_properties(),
        },
        **extra,
    }


def run(request: dict[str, Any], clock: FakeClock, **kwargs: Any) -> dict[str, Any]:
    return create_index.handle(
        request,
        Context(seconds=600.0),
        backoff=Backoff(
            max_attempts=10_000,
            base_delay=1.0,
            max_delay=20.0,
            sleep=clock.sleep,
            jitter=lambda lo, hi: hi,
        ),
        clock=clock,
        **kwargs,
    )


def test_creates_the_index_when_it_is_absent(
    collection: CollectionServer, clock: FakeClock
) -> None:
    collection.answer(404, NOT_FOUND)
    collection.answer(200, {"acknowledged": True, "index": "passages"})

    result = run(event(collection.url), clock)

    assert result == {
        "PhysicalResourceId": f"{collection.host}/passages",
        "Data": {"IndexName": "passages"},
    }
    get, put = collection.requests
    assert (get.method, get.path, get.body) == ("GET", "/passages", b"")
    assert (put.method, put.path) == ("PUT", "/passages")
    assert put.json() == DEFAULT_INDEX.mapping()
    for request in (get, put):
        check_recorded(request, collection)
    assert clock.sleeps == []


def test_keeps_an_existing_index_with_the_same_vector_field(
    collection: CollectionServer, clock: FakeClock
) -> None:
    collection.answer(200, described())
    result = run(event(collection.url), clock)
    assert result["PhysicalResourceId"] == f"{collection.host}/passages"
    assert [r.method for r in collection.requests] == ["GET"]


@pytest.mark.parametrize(
    ("existing", "found"),
    [
        (IndexDefinition(dimension=512), "dimension 512, engine faiss, space type l2"),
        (IndexDefinition(engine="nmslib"), "dimension 1024, engine nmslib, space type l2"),
        (
            IndexDefinition(space_type="innerproduct"),
            "dimension 1024, engine faiss, space type innerproduct",
        ),
        (IndexDefinition(vector_field="embedding"), "no knn_vector field"),
    ],
)
def test_fails_when_the_existing_vector_field_differs(
    collection: CollectionServer, clock: FakeClock, existing: IndexDefinition, found: str
) -> None:
    collection.answer(200, described(existing))
    with pytest.raises(create_index.IndexMismatchError) as info:
        run(event(collection.url), clock)
    assert str(info.value) == (
        f"index passages already exists with {found} in vector, but the definition asks for "
        "dimension 1024, engine faiss, space type l2; a vector field cannot change, so give "
        "the index a new name (IndexDefinition name) and load the documents into it"
    )
    assert [r.method for r in collection.requests] == ["GET"] and clock.sleeps == []


def test_retries_while_the_access_policy_and_endpoint_settle(
    collection: CollectionServer, clock: FakeClock
) -> None:
    collection.answer(403, {"status": 403, "message": DENIED})
    collection.answer(401, {"status": 401, "message": "Unauthorized"})
    collection.raw(404, b"Not Found")
    collection.answer(429, {"status": 429})
    collection.answer(503, {"status": 503})
    collection.answer(404, NOT_FOUND)
    collection.answer(200, {"acknowledged": True})

    result = run(event(collection.url), clock)

    assert result["Data"] == {"IndexName": "passages"}
    assert [r.method for r in collection.requests] == ["GET"] * 6 + ["PUT"]
    assert clock.sleeps == [1.0, 2.0, 4.0, 8.0, 16.0]


def test_accepts_an_index_a_concurrent_request_created(
    collection: CollectionServer, clock: FakeClock
) -> None:
    collection.answer(404, NOT_FOUND)
    collection.answer(400, EXISTS)
    collection.answer(200, described())
    run(event(collection.url), clock)
    assert [r.method for r in collection.requests] == ["GET", "PUT", "GET"]


def test_fails_at_the_deadline_with_advice_on_the_access_policy(
    collection: CollectionServer, clock: FakeClock
) -> None:
    collection.otherwise = Reply(403, json.dumps({"status": 403, "message": DENIED}).encode())

    with pytest.raises(create_index.IndexCreationError) as info:
        run(event(collection.url), clock)

    message = str(info.value)
    assert message.startswith(
        f"index passages could not be created on {collection.host}: the collection kept "
        "answering HTTP 403 for "
    )
    assert "takes about a minute to apply" in message
    assert "aoss:CreateIndex and aoss:DescribeIndex on index/<collection>/passages" in message
    assert "arn:" not in message and ACCOUNT not in message
    assert clock.now <= BUDGET
    assert BUDGET - clock.now < 21  # tried until the last wait that fits
    assert len(collection.requests) > 30


def test_fails_at_the_deadline_when_the_endpoint_cannot_be_reached(clock: FakeClock) -> None:
    with pytest.raises(
        create_index.IndexCreationError,
        match=r"no answer \(network failure\) for \d+ s; the endpoint could not be reached; check the collection's VPC endpoint",
    ):
        run(event("http://127.0.0.1:9"), clock)
    assert clock.now <= BUDGET


def test_fails_at_once_when_the_collection_refuses_the_mapping(
    collection: CollectionServer, clock: FakeClock
) -> None:
    collection.answer(404, NOT_FOUND)
    refusal = {
        "error": {"type": "mapper_parsing_exception", "reason": f"bad knn method for {DENIED}"}
    }
    collection.answer(400, refusal)

    with pytest.raises(create_index.IndexCreationError) as info:
        run(event(collection.url), clock)

    message = str(info.value)
    assert message.startswith("the collection refused to create index passages (HTTP 400: ")
    assert "mapper_parsing_exception" in message
    assert "arn:" not in message and ACCOUNT not in message
    assert len(collection.requests) == 2 and clock.sleeps == []


def test_messages_are_capped_by_bytes(collection: CollectionServer, clock: FakeClock) -> None:
    index = IndexDefinition(name="é" * 127)
    collection.answer(404, NOT_FOUND)
    collection.answer(400, {"error": {"type": "mapper_parsing_exception", "reason": "ü" * 3000}})
    with pytest.raises(create_index.IndexCreationError) as info:
        run(event(collection.url, index=index), clock)
    assert len(str(info.value).encode()) <= create_index.MAX_MESSAGE_BYTES


def test_delete_deletes_nothing(collection: CollectionServer, clock: FakeClock) -> None:
    request = event(collection.url, "Delete", PhysicalResourceId=f"{collection.host}/passages")
    assert run(request, clock) == {"PhysicalResourceId": f"{collection.host}/passages"}
    assert collection.requests == []


def test_a_new_index_name_is_a_new_physical_id(
    collection: CollectionServer, clock: FakeClock
) -> None:
    collection.answer(404, NOT_FOUND)
    collection.answer(200, {"acknowledged": True})
    request = event(
        collection.url,
        "Update",
        IndexDefinition(name="passages-v2"),
        PhysicalResourceId=f"{collection.host}/passages",
    )
    result = run(request, clock)
    assert result["PhysicalResourceId"] == f"{collection.host}/passages-v2"
    assert [r.path for r in collection.requests] == ["/passages-v2", "/passages-v2"]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            {"CollectionEndpoint": None},
            r"^CollectionEndpoint must be the collection's https endpoint, got None$",
        ),
        (
            {"CollectionEndpoint": "http://abc.aoss.amazonaws.com"},
            r"^CollectionEndpoint must use https",
        ),
        ({"Index": None}, r"^Index must be an object of index properties, got NoneType$"),
        (
            {"Index": {**DEFAULT_INDEX.to_properties(), "dimension": "x"}},
            r"^Index.dimension must be a whole number, got 'x'$",
        ),
        (
            {"Index": {**DEFAULT_INDEX.to_properties(), "engine": "lucene"}},
            r"^Index.engine must be one of faiss, nmslib",
        ),
        (
            {"Index": {**DEFAULT_INDEX.to_properties(), "engine": ["faiss"]}},
            r"^Index.engine must be a string, got list \['faiss'\]; pass one of faiss, nmslib and a space type it takes, e\.g\. 'faiss', 'l2'$",
        ),
        (
            {"Index": {**DEFAULT_INDEX.to_properties(), "engine": {"name": "faiss"}}},
            r"^Index.engine must be a string, got dict",
        ),
        (
            {"Index": {**DEFAULT_INDEX.to_properties(), "spaceType": ["l2"]}},
            r"^Index.spaceType must be a string, got list",
        ),
    ],
)
def test_fails_bad_properties_naming_them(
    clock: FakeClock, change: dict[str, Any], message: str
) -> None:
    request = event("https://abc.us-east-1.aoss.amazonaws.com")
    request["ResourceProperties"].update(change)
    with pytest.raises(create_index.ResourceError, match=message):
        run(request, clock)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            {"engine": ["faiss"]},
            r"^engine must be a string, got list \['faiss'\]; pass one of faiss, nmslib and a space type it takes, e\.g\. 'faiss', 'l2'$",
        ),
        ({"engine": {"faiss": 1}}, r"^engine must be a string, got dict"),
        ({"space_type": ["l2"]}, r"^space_type must be a string, got list"),
    ],
)
def test_fails_an_engine_or_space_type_that_is_not_a_string_naming_it(
    change: dict[str, Any], message: str
) -> None:
    with pytest.raises(TypeError, match=message):
        IndexDefinition(**change)


def test_fails_an_unknown_request_type(clock: FakeClock) -> None:
    with pytest.raises(
        ValueError, match=r"^RequestType must be Create, Update or Delete, got 'Replace'$"
    ):
        run(event("https://abc.us-east-1.aoss.amazonaws.com", "Replace"), clock)


def test_fails_without_a_region(monkeypatch: pytest.MonkeyPatch, clock: FakeClock) -> None:
    monkeypatch.delenv("AWS_REGION")
    with pytest.raises(
        create_index.ResourceError, match=r"^environment variable AWS_REGION is required"
    ):
        run(event("https://abc.us-east-1.aoss.amazonaws.com"), clock)


def test_the_lambda_entry_point(collection: CollectionServer) -> None:
    collection.answer(200, described())
    result = create_index.on_event(event(collection.url), Context(seconds=600.0))
    assert result["Data"] == {"IndexName": "passages"}


# --- every request ends in one result or one short, clean error, within the deadline -------

ANSWERS: list[Any] = [
    (200, described()),
    (200, described(IndexDefinition(dimension=256))),
    (200, b"<html>"),
    (200, {"acknowledged": True}),
    (404, NOT_FOUND),
    (404, b"Not Found"),
    (400, EXISTS),
    (400, {"error": {"type": "mapper_parsing_exception", "reason": DENIED}}),
    (401, {"message": DENIED}),
    (403, {"message": DENIED}),
    (429, {"message": DENIED}),
    (500, {"message": DENIED}),
    (503, b"busy"),
    urllib.error.URLError(OSError("Name or service not known")),
    TimeoutError("timed out"),
]


class Response(io.BytesIO):
    def __init__(self, status: int, body: bytes) -> None:
        super().__init__(body)
        self.status = status
        self.headers = {"Content-Length": str(len(body))}


def scripted(answers: list[Any], clock: FakeClock, seen: list[Any] | None = None) -> Any:
    script = list(answers)

    def urlopen(request: Any, timeout: float) -> Any:
        assert 0 < timeout <= create_index.REQUEST_TIMEOUT_SECONDS
        clock.now += 0.5  # each request takes a while
        outcome = script.pop(0) if script else (403, {"message": DENIED})
        if seen is not None:
            seen.append((request.get_method(), outcome))
        if isinstance(outcome, BaseException):
            raise outcome
        status, document = outcome
        body = document if isinstance(document, bytes) else json.dumps(document).encode()
        if status >= 400:
            raise urllib.error.HTTPError(
                request.full_url, status, "error", Message(), io.BytesIO(body)
            )
        return Response(status, body)

    return urlopen


@settings(max_examples=100, deadline=None)
@given(
    answers=st.lists(st.sampled_from(ANSWERS), max_size=12),
    seconds=st.floats(min_value=31.0, max_value=240.0),
)
def test_every_request_ends_in_one_result_or_one_clean_error(
    answers: list[Any], seconds: float
) -> None:
    clock = FakeClock()
    seen: list[Any] = []
    request = event("https://abc.us-east-1.aoss.amazonaws.com")
    try:
        result = create_index.handle(
            request,
            Context(seconds=seconds),
            urlopen=scripted(answers, clock, seen),
            credentials=lambda: Credentials("AKIDEXAMPLE", "secret", "token"),
            backoff=Backoff(max_attempts=10_000, base_delay=1.0, max_delay=20.0, sleep=clock.sleep),
            clock=clock,
        )
    except create_index.ResourceError as err:
        message = str(err)
        assert message and len(message.encode()) <= create_index.MAX_MESSAGE_BYTES
        assert "arn:" not in message and ACCOUNT not in message
    else:
        assert result == {
            "PhysicalResourceId": "abc.us-east-1.aoss.amazonaws.com/passages",
            "Data": {"IndexName": "passages"},
        }
        # Never a success the collection did not give: the index was created (a PUT answered
        # 2xx) or a GET showed it with the definition's vector field.
        created = any(m == "PUT" and o[0] == 200 for m, o in seen if isinstance(o, tuple))
        found = ("GET", (200, described())) in seen
        assert created or found, seen
    assert clock.now <= seconds - create_index.RESERVE_SECONDS + 1.0  # two requests of 0.5 s

"""The one index definition shared by the VectorIndex custom resource and the handlers."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from ha_inference.functions import vector_index
from ha_inference.functions.settings import ConfigError
from ha_inference.functions.vector_index import (
    DEFAULT_INDEX,
    IndexDefinition,
    check_embedding_dimension,
)


def test_the_default_mapping() -> None:
    assert DEFAULT_INDEX.mapping() == {
        "settings": {"index": {"knn": True}},
        "mappings": {
            "properties": {
                "vector": {
                    "type": "knn_vector",
                    "dimension": 1024,
                    "method": {
                        "name": "hnsw",
                        "engine": "faiss",
                        "space_type": "l2",
                        "parameters": {"m": 16, "ef_construction": 512},
                    },
                },
                "text": {"type": "text"},
                "document_id": {"type": "keyword"},
                "source": {"type": "keyword"},
            }
        },
    }


def test_environment_round_trip() -> None:
    custom = IndexDefinition(
        name="docs-v2",
        vector_field="embedding",
        text_field="body",
        metadata_fields=("source", "title"),
        id_field="doc",
        dimension=512,
    )
    env = custom.to_environment()
    assert env == {
        "INDEX_NAME": "docs-v2",
        "VECTOR_FIELD": "embedding",
        "TEXT_FIELD": "body",
        "METADATA_FIELDS": "source,title",
        "ID_FIELD": "doc",
        "EMBEDDING_DIMENSIONS": "512",
    }
    assert IndexDefinition.from_environment(env) == custom
    none = IndexDefinition(metadata_fields=())
    assert IndexDefinition.from_environment(none.to_environment()) == none


def test_environment_defaults() -> None:
    assert IndexDefinition.from_environment({}) == DEFAULT_INDEX
    blank = {"INDEX_NAME": " ", "EMBEDDING_DIMENSIONS": "", "METADATA_FIELDS": " source , "}
    assert IndexDefinition.from_environment(blank) == DEFAULT_INDEX


def test_properties_round_trip_with_numbers_as_cloudformation_passes_them() -> None:
    definition = IndexDefinition(dimension=256, engine="nmslib", space_type="cosinesimil")
    properties = definition.to_properties()
    assert properties == {
        "name": "passages",
        "vectorField": "vector",
        "textField": "text",
        "metadataFields": ["source"],
        "idField": "document_id",
        "dimension": "256",
        "engine": "nmslib",
        "spaceType": "cosinesimil",
        "m": "16",
        "efConstruction": "512",
    }
    assert IndexDefinition.from_properties(json.loads(json.dumps(properties))) == definition
    as_numbers = {**properties, "dimension": 256, "m": 16, "efConstruction": 512}
    assert IndexDefinition.from_properties(as_numbers) == definition


def test_lists_are_accepted_as_metadata_fields() -> None:
    definition = IndexDefinition(metadata_fields=["source", "title"])  # type: ignore[arg-type]
    assert definition.metadata_fields == ("source", "title")
    assert hash(definition) == hash(IndexDefinition(metadata_fields=("source", "title")))


def test_vector_method_is_what_an_existing_index_must_share() -> None:
    assert DEFAULT_INDEX.vector_method() == (1024, "faiss", "l2")


@pytest.mark.parametrize(
    ("name", "problem"),
    [
        ("", "is empty"),
        ("Passages", "has uppercase letters"),
        ("_all", "starts with '_'"),
        ("-x", "starts with '-'"),
        ("+x", "starts with '\\+'"),
        (".hidden", "starts with '.'"),
        ("..", "starts with '.'"),
        ("a b", "contains ' '"),
        ("a,b", "contains ','"),
        ("a:b", "contains ':'"),
        ("a/b", "contains '/'"),
        ("a*?", "contains '\\*\\?'"),
        ("x" * 256, "is 256 bytes long"),
        ("é" * 128, "is 256 bytes long"),
    ],
)
def test_fails_index_names_opensearch_rejects(name: str, problem: str) -> None:
    with pytest.raises(
        ValueError, match=rf"^name must be an OpenSearch index name, got .*, which {problem}; use"
    ):
        IndexDefinition(name=name)


def test_accepts_index_names_at_the_limits() -> None:
    assert IndexDefinition(name="x" * 255).name == "x" * 255
    assert IndexDefinition(name="0-passages_v2.1").name == "0-passages_v2.1"


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"vector_field": "a.b"}, r"^vector_field must be a plain field name, got 'a.b'; use"),
        ({"text_field": ""}, r"^text_field must be a plain field name, got ''"),
        ({"id_field": "_id"}, r"^id_field must be a plain field name, got '_id'"),
        (
            {"metadata_fields": ("ok", "9lives")},
            r"^metadata_fields\[1\] must be a plain field name",
        ),
        (
            {"metadata_fields": "source"},
            r"^metadata_fields must be a sequence of field names, got str",
        ),
        (
            {"metadata_fields": ("vector",)},
            r"^metadata_fields\[0\] must differ from vector_field, got 'vector' for both; rename one$",
        ),
        (
            {"text_field": "vector"},
            r"^text_field must differ from vector_field, got 'vector' for both",
        ),
        (
            {"dimension": 0},
            r"^dimension must be 1-16000, got 0; match the embedding model's output size$",
        ),
        ({"dimension": 16_001}, r"^dimension must be 1-16000, got 16001"),
        (
            {"dimension": True},
            r"^dimension must be a whole number, got bool True; pass an int from 1 to 16000$",
        ),
        (
            {"dimension": "1024"},
            r"^dimension must be a whole number, got str '1024'; pass an int from 1 to 16000$",
        ),
        (
            {"engine": "lucene"},
            r"^engine must be one of faiss, nmslib, got 'lucene'; vector search collections do not support the Lucene engine$",
        ),
        (
            {"engine": "hnswlib"},
            r"^engine must be one of faiss, nmslib, got 'hnswlib'; use 'faiss'",
        ),
        (
            {"space_type": "cosinesimil"},
            r"^space_type must be one of l2, innerproduct with the faiss engine",
        ),
        (
            {"engine": "nmslib", "space_type": "hamming"},
            r"^space_type must be one of l2, innerproduct, cosinesimil, l1, linf with the nmslib engine",
        ),
        ({"m": 1}, r"^m must be 2-100, got 1"),
        ({"ef_construction": 5000}, r"^ef_construction must be 2-4096, got 5000"),
    ],
)
def test_fails_definitions_the_service_rejects(changes: dict[str, Any], message: str) -> None:
    with pytest.raises((ValueError, TypeError), match=message):
        IndexDefinition(**changes)


@pytest.mark.parametrize(
    ("env", "setting", "message"),
    [
        ({"INDEX_NAME": "Passages"}, "INDEX_NAME", r"^INDEX_NAME must be an OpenSearch index name"),
        ({"VECTOR_FIELD": "a.b"}, "VECTOR_FIELD", r"^VECTOR_FIELD must be a plain field name"),
        ({"METADATA_FIELDS": "ok,a.b"}, "METADATA_FIELDS", r"^METADATA_FIELDS\[1\] must be"),
        (
            {"METADATA_FIELDS": "text"},
            "METADATA_FIELDS",
            r"^METADATA_FIELDS\[0\] must differ from TEXT_FIELD",
        ),
        (
            {"ID_FIELD": "vector"},
            "ID_FIELD",
            r"^ID_FIELD must differ from VECTOR_FIELD, got 'vector' for both",
        ),
        (
            {"EMBEDDING_DIMENSIONS": "big"},
            "EMBEDDING_DIMENSIONS",
            r"^EMBEDDING_DIMENSIONS must be a whole number, got 'big'$",
        ),
        (
            {"EMBEDDING_DIMENSIONS": "0"},
            "EMBEDDING_DIMENSIONS",
            r"^EMBEDDING_DIMENSIONS must be 1-16000, got 0",
        ),
    ],
)
def test_fails_environments_naming_the_variable(
    env: dict[str, str], setting: str, message: str
) -> None:
    with pytest.raises(ConfigError, match=message) as info:
        IndexDefinition.from_environment(env)
    assert info.value.setting == setting


@pytest.mark.parametrize(
    ("changes", "setting", "message"),
    [
        (
            {"dimension": "lots"},
            "Index.dimension",
            r"^Index.dimension must be a whole number, got 'lots'$",
        ),
        ({"dimension": "16001"}, "Index.dimension", r"^Index.dimension must be 1-16000, got 16001"),
        ({"engine": "lucene"}, "Index.engine", r"^Index.engine must be one of faiss, nmslib"),
        (
            {"spaceType": "cosinesimil"},
            "Index.spaceType",
            r"^Index.spaceType must be one of l2, innerproduct",
        ),
        ({"name": "A"}, "Index.name", r"^Index.name must be an OpenSearch index name"),
        (
            {"metadataFields": "source"},
            "Index.metadataFields",
            r"^Index.metadataFields must be a sequence",
        ),
        (
            {"shards": "2"},
            "Index.shards",
            r"^Index.shards is not an index property; the properties are name, ",
        ),
        (
            {"m": None},
            "Index.m",
            r"^Index.m must be a whole number, got NoneType None; pass an int from 2 to 100$",
        ),
    ],
)
def test_fails_properties_naming_the_property(
    changes: dict[str, Any], setting: str, message: str
) -> None:
    properties = {**DEFAULT_INDEX.to_properties(), **changes}
    with pytest.raises(ConfigError, match=message) as info:
        IndexDefinition.from_properties(properties)
    assert info.value.setting == setting


def test_fails_properties_that_miss_a_key_or_are_not_an_object() -> None:
    properties = DEFAULT_INDEX.to_properties()
    del properties["spaceType"]
    with pytest.raises(
        ConfigError, match=r"^Index.spaceType is required; pass IndexDefinition.to_properties\(\)$"
    ):
        IndexDefinition.from_properties(properties)
    with pytest.raises(
        ConfigError, match=r"^Index must be an object of index properties, got str$"
    ):
        IndexDefinition.from_properties("passages")


@pytest.mark.parametrize("dimension", [256, 512, 1024])
def test_titan_v2_dimensions_pass(dimension: int) -> None:
    check_embedding_dimension("amazon.titan-embed-text-v2:0", dimension)


def test_fails_a_dimension_titan_v2_cannot_return() -> None:
    with pytest.raises(
        ValueError,
        match=r"^dimension must be one of 256, 512, 1024 for amazon.titan-embed-text-v2:0, got 1536; "
        r"Titan Text Embeddings V2 returns only those sizes$",
    ):
        check_embedding_dimension("amazon.titan-embed-text-v2:0", 1536)


def test_other_model_ids_are_not_checked() -> None:
    check_embedding_dimension("arn:aws:bedrock:us-east-1:111111111111:provisioned-model/abc", 1536)


def test_imports_without_boto3_or_aws_cdk() -> None:
    """The library imports it at synth time, where boto3 need not be installed."""
    folder = Path(vector_index.__file__).parent
    code = (
        "import sys; sys.path.insert(0, sys.argv[1]); import vector_index; "
        "loaded = {m.split('.')[0] for m in sys.modules}; "
        "print(sorted(loaded & {'boto3', 'botocore', 'aws_cdk', 'jsii'}))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code, str(folder)], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"

"""The one definition of the vector index that the shipped handlers and the library share.

Pure Python: the handlers import it in Lambda (top-level ``vector_index``) and the library imports
it at synth time (``ha_inference.functions.vector_index``), so the index that the ``VectorIndex``
custom resource creates, the documents that ingestion writes and the query that retrieval sends
always agree.

What OpenSearch Serverless vector search accepts (and so what :class:`IndexDefinition` accepts):

* the ``hnsw`` method only, on the ``faiss`` engine (space types ``l2`` and ``innerproduct``) or
  the ``nmslib`` engine (``l2``, ``innerproduct``, ``cosinesimil``, ``l1``, ``linf``). Vector
  search collections support neither the ``lucene`` engine nor Faiss's IVF methods (Amazon
  OpenSearch Service developer guide, "Working with vector search collections", Limitations).
  Faiss takes ``cosinesimil`` only from OpenSearch 2.19 (OpenSearch "Methods and engines"),
  which a collection does not promise, so it is refused; with normalized embeddings (the
  handlers ask Titan for ``normalize: true``) ``l2`` and ``innerproduct`` rank like cosine.
  ``nmslib`` is deprecated in OpenSearch: prefer ``faiss``.
* at most 16,000 dimensions (same guide);
* index names by OpenSearch's rules: lowercase, at most 255 bytes, not starting with ``_``,
  ``-``, ``+`` (or ``.``, reserved for hidden and system indexes), none of
  ``space , : " * + / \\ | ? # < >``.

Titan Text Embeddings V2 returns 256, 512 or 1024 dimensions (``dimensions`` in its request);
:func:`check_embedding_dimension` checks a definition against the embedding model id, which is
configured separately.

Document ids: VECTORSEARCH collections refuse a custom ``_id`` on index and create actions
("Document ID is not supported in create/index operation request"; the guide's "Choosing a
collection type": no custom document ids or upserts for time series and vector search
collections). The collection assigns ``_id``; a document's own id is kept in ``id_field``, a
``keyword`` field.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

try:  # ha_inference.functions.vector_index (library, tests) or top-level (Lambda)
    from .settings import ConfigError
except ImportError:  # pragma: no cover - the Lambda runtime path
    from settings import ConfigError  # type: ignore[no-redef,import-not-found]

MAX_DIMENSION = 16_000
"""The most dimensions a vector search collection accepts."""

ENGINE_SPACE_TYPES: Mapping[str, tuple[str, ...]] = {
    "faiss": ("l2", "innerproduct"),
    "nmslib": ("l2", "innerproduct", "cosinesimil", "l1", "linf"),
}
"""The HNSW engines of vector search collections and the space types each accepts."""

TITAN_V2_DIMENSIONS = (256, 512, 1024)
"""The ``dimensions`` Titan Text Embeddings V2 accepts."""

TITAN_V2_MARKER = "titan-embed-text-v2"
"""Part of every Titan Text Embeddings V2 model id (``amazon.titan-embed-text-v2:0``)."""

_FIELD = re.compile(r"^[A-Za-z][A-Za-z0-9_-]{0,63}$")
_INDEX_FORBIDDEN = frozenset(' ,:"*+/\\|?#<>')
_INDEX_MAX_BYTES = 255


def _check_index_name(label: str, value: Any) -> str:
    if not isinstance(value, str):
        raise TypeError(
            f"{label} must be a string, got {type(value).__name__} {value!r}; pass the index "
            "name as a string, e.g. 'passages'"
        )
    problem = ""
    if not value:
        problem = "is empty"
    elif len(value.encode()) > _INDEX_MAX_BYTES:
        problem = f"is {len(value.encode())} bytes long"
    elif value != value.lower():
        problem = "has uppercase letters"
    elif value in {".", ".."} or value[0] in "_-+.":
        problem = f"starts with {value[0]!r}"
    elif bad := sorted(set(value) & _INDEX_FORBIDDEN):
        problem = f"contains {''.join(bad)!r}"
    if problem:
        raise ValueError(
            f"{label} must be an OpenSearch index name, got {value!r}, which {problem}; use "
            "1-255 bytes of lowercase letters, digits, '-' and '_', starting with a letter or "
            "digit"
        )
    return value


def _check_field(label: str, value: Any) -> str:
    if not isinstance(value, str):
        raise TypeError(
            f"{label} must be a string, got {type(value).__name__} {value!r}; pass the field "
            "name as a string, e.g. 'text'"
        )
    if not _FIELD.match(value):
        raise ValueError(
            f"{label} must be a plain field name, got {value!r}; use 1-64 letters, digits, '_' "
            "and '-', starting with a letter (no dots: they would make an object path)"
        )
    return value


def _check_int(label: str, value: Any, low: int, high: int, fix: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(
            f"{label} must be a whole number, got {type(value).__name__} {value!r}; pass an "
            f"int from {low} to {high}"
        )
    if not low <= value <= high:
        raise ValueError(f"{label} must be {low}-{high}, got {value}; {fix}")
    return value


def _check_engine(label: str, engine: Any, space_label: str, space_type: Any) -> None:
    for name, value in ((label, engine), (space_label, space_type)):
        if not isinstance(value, str):
            raise TypeError(
                f"{name} must be a string, got {type(value).__name__} {value!r}; pass one of "
                f"{', '.join(ENGINE_SPACE_TYPES)} and a space type it takes, e.g. 'faiss', 'l2'"
            )
    if engine == "lucene":
        raise ValueError(
            f"{label} must be one of {', '.join(ENGINE_SPACE_TYPES)}, got 'lucene'; vector "
            "search collections do not support the Lucene engine"
        )
    if engine not in ENGINE_SPACE_TYPES:
        raise ValueError(
            f"{label} must be one of {', '.join(ENGINE_SPACE_TYPES)}, got {engine!r}; use "
            "'faiss' (nmslib is deprecated in OpenSearch)"
        )
    if space_type not in ENGINE_SPACE_TYPES[engine]:
        raise ValueError(
            f"{space_label} must be one of {', '.join(ENGINE_SPACE_TYPES[engine])} with the "
            f"{engine} engine in a vector search collection, got {space_type!r}; normalized "
            "embeddings rank the same under l2, innerproduct and cosine"
        )


def check_embedding_dimension(model_id: str, dimension: int, *, label: str = "dimension") -> None:
    """Raises ``ValueError`` when ``model_id`` is Titan Text Embeddings V2 and it cannot return
    ``dimension`` values. Other model ids (an ARN of provisioned throughput, for example) are
    not checked: nothing can be told from them."""
    if TITAN_V2_MARKER in model_id and dimension not in TITAN_V2_DIMENSIONS:
        raise ValueError(
            f"{label} must be one of {', '.join(map(str, TITAN_V2_DIMENSIONS))} for "
            f"{model_id}, got {dimension}; Titan Text Embeddings V2 returns only those sizes"
        )


@dataclass(frozen=True)
class IndexDefinition:
    """A k-NN index of passages: their text, their embedding and a few metadata fields.

    The one definition the custom resource creates, ingestion writes and retrieval searches.
    Metadata and id fields are ``keyword``: exact values (paths, URLs, ids) to filter and
    aggregate on, not prose to analyze. Raises ``ValueError`` or ``TypeError`` naming the
    property for a value the service rejects.

    :param name: the index name (OpenSearch's rules: lowercase, 1-255 bytes). Default:
        ``passages``.
    :param vector_field: the ``knn_vector`` field. Default: ``vector``.
    :param text_field: the passage, ``text`` type (analyzed, so lexical or hybrid search stays
        possible). Default: ``text``.
    :param metadata_fields: ``keyword`` fields ingestion accepts in a document's metadata.
        Default: ``("source",)``.
    :param id_field: where a document's own id is stored (vector search collections assign
        ``_id`` themselves). Default: ``document_id``.
    :param dimension: the vector's size, at most 16,000; with Titan Text Embeddings V2 only
        256, 512 or 1024. Default: 1024 (Titan V2's default size).
    :param engine: ``faiss`` or ``nmslib`` (vector search collections support neither Lucene
        nor Faiss's IVF methods). Default: ``faiss``.
    :param space_type: the distance, one the engine takes. Default: ``l2``.
    :param m: HNSW links per node, 2-100. Default: 16 (OpenSearch's default).
    :param ef_construction: HNSW build-time candidate list, 2-4096. Default: 512 (what Bedrock
        knowledge bases create on OpenSearch Serverless: better recall, paid for at indexing
        time only).
    """

    name: str = "passages"
    vector_field: str = "vector"
    text_field: str = "text"
    metadata_fields: tuple[str, ...] = ("source",)
    id_field: str = "document_id"
    dimension: int = 1024
    engine: str = "faiss"
    space_type: str = "l2"
    m: int = 16
    ef_construction: int = 512

    def __post_init__(self) -> None:
        values = {prop: getattr(self, prop) for prop in _PROPS}
        _validate(values, {prop: prop for prop in _PROPS})
        object.__setattr__(self, "metadata_fields", tuple(self.metadata_fields))

    def mapping(self) -> dict[str, Any]:
        """The body of ``PUT /<name>``: k-NN settings and the field mappings."""
        properties: dict[str, Any] = {
            self.vector_field: {
                "type": "knn_vector",
                "dimension": self.dimension,
                "method": {
                    "name": "hnsw",
                    "engine": self.engine,
                    "space_type": self.space_type,
                    "parameters": {"m": self.m, "ef_construction": self.ef_construction},
                },
            },
            self.text_field: {"type": "text"},
            self.id_field: {"type": "keyword"},
        }
        for name in self.metadata_fields:
            properties[name] = {"type": "keyword"}
        return {"settings": {"index": {"knn": True}}, "mappings": {"properties": properties}}

    def vector_method(self) -> tuple[int, str, str]:
        """``(dimension, engine, space_type)``: what an existing index must share with this one."""
        return self.dimension, self.engine, self.space_type

    def to_environment(self) -> dict[str, str]:
        """The handlers' environment variables for this index."""
        return {
            "INDEX_NAME": self.name,
            "VECTOR_FIELD": self.vector_field,
            "TEXT_FIELD": self.text_field,
            "METADATA_FIELDS": ",".join(self.metadata_fields),
            "ID_FIELD": self.id_field,
            "EMBEDDING_DIMENSIONS": str(self.dimension),
        }

    @classmethod
    def from_environment(cls, env: Mapping[str, str]) -> IndexDefinition:
        """The definition in ``env`` (see :meth:`to_environment`); a variable that is missing
        or blank takes the default, except ``METADATA_FIELDS``, where an empty value means
        none. Engine, space type and HNSW parameters are not in the environment (queries and
        documents do not depend on them) and keep their defaults.

        Raises :class:`~settings.ConfigError` naming the variable.
        """
        default = cls()
        raw_dimension = env.get("EMBEDDING_DIMENSIONS", "").strip()
        metadata = env.get("METADATA_FIELDS")
        values: dict[str, Any] = {
            **{prop: getattr(default, prop) for prop in _PROPS},
            "name": env.get("INDEX_NAME", "").strip() or default.name,
            "vector_field": env.get("VECTOR_FIELD", "").strip() or default.vector_field,
            "text_field": env.get("TEXT_FIELD", "").strip() or default.text_field,
            "id_field": env.get("ID_FIELD", "").strip() or default.id_field,
            "metadata_fields": default.metadata_fields
            if metadata is None
            else tuple(f.strip() for f in metadata.split(",") if f.strip()),
            "dimension": _parse_int("EMBEDDING_DIMENSIONS", raw_dimension, default.dimension),
        }
        return _build(cls, values, _ENV_LABELS)

    def to_properties(self) -> dict[str, Any]:
        """The definition as custom-resource properties, numbers as the strings CloudFormation
        delivers them as (see :meth:`from_properties`)."""
        return {
            "name": self.name,
            "vectorField": self.vector_field,
            "textField": self.text_field,
            "metadataFields": list(self.metadata_fields),
            "idField": self.id_field,
            "dimension": str(self.dimension),
            "engine": self.engine,
            "spaceType": self.space_type,
            "m": str(self.m),
            "efConstruction": str(self.ef_construction),
        }

    @classmethod
    def from_properties(cls, properties: Any, *, prefix: str = "Index") -> IndexDefinition:
        """The definition in custom-resource ``properties`` (numbers as numbers or as the
        strings CloudFormation passes). Raises :class:`~settings.ConfigError` naming the
        property (``Index.dimension``) for a missing, unknown or invalid one."""
        if not isinstance(properties, Mapping):
            raise ConfigError(
                prefix,
                f"{prefix} must be an object of index properties, got {type(properties).__name__}",
            )
        unknown = sorted(set(properties) - set(_PROPERTY_OF))
        if unknown:
            raise ConfigError(
                f"{prefix}.{unknown[0]}",
                f"{prefix}.{unknown[0]} is not an index property; the properties are "
                f"{', '.join(_PROPERTY_OF)}",
            )
        missing = [key for key in _PROPERTY_OF if key not in properties]
        if missing:
            raise ConfigError(
                f"{prefix}.{missing[0]}",
                f"{prefix}.{missing[0]} is required; pass IndexDefinition.to_properties()",
            )
        values: dict[str, Any] = {}
        for key, prop in _PROPERTY_OF.items():
            value = properties[key]
            if prop in _INT_PROPS:
                value = _parse_int(f"{prefix}.{key}", value, None)
            values[prop] = value
        labels = {prop: f"{prefix}.{key}" for key, prop in _PROPERTY_OF.items()}
        return _build(cls, values, labels)


def _parse_int(label: str, value: Any, default: int | None) -> Any:
    """An int from an int or a string of digits; ``default`` for ``""`` when there is one."""
    if isinstance(value, str):
        text = value.strip()
        if not text and default is not None:
            return default
        try:
            return int(text)
        except ValueError:
            raise ConfigError(label, f"{label} must be a whole number, got {value!r}") from None
    return value


def _build(
    cls: type[IndexDefinition], values: dict[str, Any], labels: Mapping[str, str]
) -> IndexDefinition:
    """``cls(**values)``, its errors raised as :class:`ConfigError` naming ``labels[prop]``."""
    try:
        _validate(values, labels)
    except (TypeError, ValueError) as err:
        message = str(err)
        setting = next((label for label in labels.values() if message.startswith(label)), "index")
        raise ConfigError(setting, message) from None
    return cls(**values)


def _validate(values: Mapping[str, Any], labels: Mapping[str, str]) -> None:
    """Raises ``ValueError``/``TypeError`` for the first value the service would reject."""
    label = labels.__getitem__
    metadata = values["metadata_fields"]
    if isinstance(metadata, str) or not isinstance(metadata, Sequence):
        raise TypeError(
            f"{label('metadata_fields')} must be a sequence of field names, got "
            f"{type(metadata).__name__} {metadata!r}; pass a tuple of names, e.g. ('source',)"
        )
    _check_index_name(label("name"), values["name"])
    for prop in ("vector_field", "text_field", "id_field"):
        _check_field(label(prop), values[prop])
    for position, name in enumerate(metadata):
        _check_field(f"{label('metadata_fields')}[{position}]", name)
    seen: dict[str, str] = {}
    named = [(label(prop), values[prop]) for prop in ("vector_field", "text_field", "id_field")]
    named += [(f"{label('metadata_fields')}[{n}]", name) for n, name in enumerate(metadata)]
    for field_label, name in named:
        if name in seen:
            raise ValueError(
                f"{field_label} must differ from {seen[name]}, got {name!r} for both; rename one"
            )
        seen[name] = field_label
    _check_int(
        label("dimension"),
        values["dimension"],
        1,
        MAX_DIMENSION,
        "match the embedding model's output size",
    )
    _check_engine(label("engine"), values["engine"], label("space_type"), values["space_type"])
    _check_int(label("m"), values["m"], 2, 100, "OpenSearch advises 2-100 links per node")
    _check_int(
        label("ef_construction"), values["ef_construction"], 2, 4096, "512 suits most corpora"
    )


_PROPS = (
    "name",
    "vector_field",
    "text_field",
    "metadata_fields",
    "id_field",
    "dimension",
    "engine",
    "space_type",
    "m",
    "ef_construction",
)

_ENV_LABELS = {
    "name": "INDEX_NAME",
    "vector_field": "VECTOR_FIELD",
    "text_field": "TEXT_FIELD",
    "metadata_fields": "METADATA_FIELDS",
    "id_field": "ID_FIELD",
    "dimension": "EMBEDDING_DIMENSIONS",
    "engine": "engine",
    "space_type": "space_type",
    "m": "m",
    "ef_construction": "ef_construction",
}

_PROPERTY_OF = {
    "name": "name",
    "vectorField": "vector_field",
    "textField": "text_field",
    "metadataFields": "metadata_fields",
    "idField": "id_field",
    "dimension": "dimension",
    "engine": "engine",
    "spaceType": "space_type",
    "m": "m",
    "efConstruction": "ef_construction",
}

_INT_PROPS = frozenset({"dimension", "m", "ef_construction"})

DEFAULT_INDEX = IndexDefinition()
"""The index the reference app creates, loads and searches."""

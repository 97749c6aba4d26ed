"""The k-NN index the shipped handlers search and write (placeholder until the handlers land).

One definition serves the index creator, the ingestion and retrieval handlers, and the
constructs that deploy them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class IndexDefinition:
    name: str = "passages"
    vector_field: str = "vector"
    text_field: str = "text"
    metadata_fields: tuple[str, ...] = ("source",)
    dimension: int = 1024
    engine: str = "faiss"
    space_type: str = "l2"

    def to_environment(self) -> dict[str, str]:
        return {
            "INDEX_NAME": self.name,
            "VECTOR_FIELD": self.vector_field,
            "TEXT_FIELD": self.text_field,
            "METADATA_FIELDS": ",".join(self.metadata_fields),
            "EMBEDDING_DIMENSIONS": str(self.dimension),
        }

    def to_properties(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "vectorField": self.vector_field,
            "textField": self.text_field,
            "metadataFields": list(self.metadata_fields),
            "dimension": str(self.dimension),
            "engine": self.engine,
            "spaceType": self.space_type,
        }


DEFAULT_INDEX = IndexDefinition()

"""Memory: the criteria library and the experience memory, over a LangGraph store.

The names below are imported on first use, so `import writer_r1.memory` stays light.

Example:
    >>> from writer_r1.memory import CriteriaLibrary, ExperienceMemory
    >>> CriteriaLibrary.__name__, ExperienceMemory.__name__
    ('CriteriaLibrary', 'ExperienceMemory')
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from writer_r1._lazy import lazy_exports

if TYPE_CHECKING:
    from writer_r1.memory.embeddings import LexicalEmbeddings, default_embeddings
    from writer_r1.memory.experience import ExperienceMemory
    from writer_r1.memory.library import CriteriaLibrary
    from writer_r1.memory.store import SemanticStore, open_store

_EXPORTS = {
    "LexicalEmbeddings": "writer_r1.memory.embeddings",
    "default_embeddings": "writer_r1.memory.embeddings",
    "ExperienceMemory": "writer_r1.memory.experience",
    "CriteriaLibrary": "writer_r1.memory.library",
    "SemanticStore": "writer_r1.memory.store",
    "open_store": "writer_r1.memory.store",
}

__all__ = sorted(_EXPORTS)


__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, globals(), __all__)

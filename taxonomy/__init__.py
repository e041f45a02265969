"""The failure taxonomy as data, QA items and their templates, and scoring. Knows about scenes."""

from taxonomy.items import NONE_OPTION, Answer, Format, Level, Option, QAItem
from taxonomy.model import FailureMode, Modality, Scope, SubDimension, Taxonomy, load_taxonomy

__all__ = [
    "Answer", "FailureMode", "Format", "Level", "Modality", "NONE_OPTION", "Option", "QAItem", "Scope",
    "SubDimension", "Taxonomy", "load_taxonomy",
]

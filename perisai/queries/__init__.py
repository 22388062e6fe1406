"""Read models: what each page and report shows, read in a fixed number of statements (none
per row). Views call these; templates never query. Nothing here writes.
"""
from sqlalchemy import select

from ..domain.statuses import ReversalStatus
from ..models import Reversal


def reversed_collection_ids():
    """Subquery: collections whose reversal a supervisor approved (they no longer count)."""
    return select(Reversal.collection_id).where(Reversal.status == ReversalStatus.APPROVED)

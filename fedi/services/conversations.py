"""Direct-message threads of a member, grouped by the thread's first status.

Computed from the direct statuses the member wrote or was mentioned in (the same rows as
``/api/v1/conversations``), so messages from other hubs need no extra bookkeeping; only the
read and hidden marks are stored (``ConversationState``).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from fedi.ids import new_id
from fedi.models import Actor, ConversationState, Mention, Status
from fedi.services.timelines import direct_statuses

MAX_DEPTH = 50


@dataclass
class Thread:
    root_id: int
    statuses: list[Status]  # newest first
    state: ConversationState | None

    @property
    def last(self) -> Status:
        return self.statuses[0]

    def unread(self, viewer_id: int) -> bool:
        read_up_to = self.state.last_read_id if self.state else 0
        return self.last.actor_id != viewer_id and self.last.id > read_up_to


def _roots(session: Session, rows: list[Status]) -> dict[int, int]:
    parent_of: dict[int, int | None] = {r.id: r.in_reply_to_id for r in rows}
    for _ in range(MAX_DEPTH):
        missing = {p for p in parent_of.values() if p is not None and p not in parent_of}
        if not missing:
            break
        for sid, parent in session.execute(select(Status.id, Status.in_reply_to_id)
                                           .where(Status.id.in_(missing))).all():
            parent_of[sid] = parent
        for sid in missing - set(parent_of):
            parent_of[sid] = None  # a parent we never had: the thread starts below it
    roots: dict[int, int] = {}
    for row in rows:
        node, steps = row.id, 0
        while steps < MAX_DEPTH:
            parent = parent_of.get(node)
            if parent is None or parent not in parent_of:
                break
            node = parent
            steps += 1
        roots[row.id] = node
    return roots


def threads(session: Session, viewer: Actor) -> list[Thread]:
    """The member's DM threads, the most recently active first (hidden ones left out)."""
    rows = direct_statuses(session, viewer)
    roots = _roots(session, rows)
    grouped: dict[int, list[Status]] = {}
    for row in rows:
        grouped.setdefault(roots[row.id], []).append(row)
    states = {s.root_id: s for s in session.scalars(select(ConversationState).where(
        ConversationState.owner_id == viewer.id, ConversationState.root_id.in_(list(grouped))))}
    out = []
    for root_id, statuses in grouped.items():
        state = states.get(root_id)
        if state is not None and statuses[0].id <= state.hidden_before_id:
            continue
        out.append(Thread(root_id, statuses, state))
    out.sort(key=lambda t: t.last.id, reverse=True)
    return out


def find_thread(session: Session, viewer: Actor, root_id: int) -> Thread | None:
    for thread in threads(session, viewer):
        if thread.root_id == root_id:
            return thread
    return None


def participants(session: Session, viewer: Actor, thread: Thread) -> list[Actor]:
    """Everyone in the thread but the viewer: authors and mentioned people, in order."""
    ids = [s.id for s in thread.statuses]
    who = [s.actor_id for s in reversed(thread.statuses)]
    who += list(session.scalars(select(Mention.actor_id).where(Mention.status_id.in_(ids))
                                .order_by(Mention.id)))
    wanted = [a for a in dict.fromkeys(who) if a != viewer.id]
    found = {a.id: a for a in session.scalars(select(Actor).where(Actor.id.in_(wanted)))}
    return [found[a] for a in wanted if a in found]


def mark_read(session: Session, viewer: Actor, thread: Thread) -> None:
    if thread.state is None:
        thread.state = ConversationState(id=new_id(), owner_id=viewer.id, root_id=thread.root_id,
                                         last_read_id=0, hidden_before_id=0)
        session.add(thread.state)
    thread.state.last_read_id = thread.last.id

"""Seed a migrated hub database for benchmarks: members, follows, statuses of every
audience, their home-timeline rows (fan-out on write, as posting does), mentions, tags,
likes, and one OAuth token per member. Bulk inserts through SQLAlchemy Core.

    .venv/bin/python bench/seed.py DATABASE_URL --domain 127.0.0.1:8000 \\
        [--members 1000] [--statuses 100000] [--follows 20] [--tokens-out tokens.json]
        [--notifications]

``seed_scale`` (used by bench/scale.py) seeds a PostgreSQL hub of any size with ``COPY``
(psycopg 3 ``cursor.copy``) instead of executemany, plus linked hubs as the mesh stores them
(``neighbours``, ``neighbour_sync``, ``directory_listings``), their members and some of
their statuses; the home-timeline rows and notifications are made by the server itself
(``INSERT ... SELECT``), so a million statuses never sit in Python's memory.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import secrets
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import insert

from fedi.db import make_engine
from fedi.models import (
    Actor,
    Follow,
    Interaction,
    Mention,
    Notification,
    OAuthApp,
    OAuthToken,
    Status,
    Tag,
    TimelineEntry,
    User,
)
from fedi.services.accounts import hash_password

BATCH = 5000
TRADES = ["Plombier", "Électricienne", "Boulanger", "Fleuriste", "Graphiste", "Avocate",
          "Libraire", "Coach", "Architecte", "Menuisier"]
AUDIENCES = ["followers"] * 12 + ["neighbourhood"] * 5 + ["hub"] * 2 + ["direct"]


def _ids(start_ms: int, count: int, span_ms: int) -> list[int]:
    """Ids shaped like fedi.ids.new_id, spread over ``span_ms``, strictly increasing."""
    step = max(1, span_ms // max(1, count))
    return [((start_ms + i * step) << 16) | (i & 0xFFFF) for i in range(count)]


def _bulk(conn: Any, table: Any, rows: list[dict[str, Any]]) -> None:
    for i in range(0, len(rows), BATCH):
        conn.execute(insert(table), rows[i:i + BATCH])


def member_rows(rng: random.Random, base: str, domain: str, now: datetime, start_ms: int,
                members: int) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The ``actors`` and ``users`` rows of ``members`` local members."""
    password_hash = hash_password("bench-password")
    actor_ids = _ids(start_ms - 10_000_000, members, 1_000_000)
    user_ids = _ids(start_ms - 20_000_000, members, 1_000_000)
    actors, users = [], []
    for i, (aid, uid) in enumerate(zip(actor_ids, user_ids)):
        name = f"m{i:05d}"
        uri = f"{base}/users/{name}"
        actors.append({"id": aid, "uri": uri, "username": name, "domain": domain, "local": True,
                           "type": "Person", "display_name": f"Membre {i}", "summary": "<p>Voisin</p>",
                           "url": f"{base}/@{name}", "inbox": f"{uri}/inbox",
                           "shared_inbox": f"{base}/inbox", "outbox": f"{uri}/outbox",
                           "followers_url": f"{uri}/followers", "following_url": f"{uri}/following",
                           "key_id": f"{uri}#main-key", "public_key_pem": None, "private_key_pem": None,
                           "locked": True, "discoverable": True, "fields": [], "trade": rng.choice(TRADES),
                           "postal_code": "75011", "created_at": now, "updated_at": now})
        users.append({"id": uid, "actor_id": aid, "email": f"{name}@bench.test",
                          "password_hash": password_hash, "role": "member",
                          "default_visibility": "private", "locale": "fr", "disabled": False,
                          "created_at": now})
    return actors, users


def token_rows(users: list[dict[str, Any]], app_id: int, now: datetime
               ) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """One OAuth token row per user, and the tokens themselves (``actor_id``, ``token``)."""
    rows, tokens = [], []
    for user in users:
        token = secrets.token_urlsafe(32)
        rows.append({"id": user["id"] + 1, "token_hash": hashlib.sha256(
            token.encode()).hexdigest(), "refresh_hash": None, "app_id": app_id, "user_id": user["id"],
            "scopes": "read write follow", "created_at": now, "revoked_at": None})
        tokens.append({"actor_id": user["actor_id"], "token": token})
    return rows, tokens


def app_row(app_id: int, now: datetime) -> dict[str, Any]:
    return {"id": app_id, "name": "bench", "website": None, "client_id": secrets.token_hex(8),
                "client_secret": secrets.token_hex(8), "redirect_uris": "urn:ietf:wg:oauth:2.0:oob",
                "scopes": "read write follow", "created_at": now}


def seed(url: str, domain: str, scheme: str, members: int, statuses: int, follows: int,
         seed_value: int = 7) -> list[dict[str, Any]]:
    rng = random.Random(seed_value)
    base = f"{scheme}://{domain}"
    now = datetime.now(UTC)
    start_ms = int((now - timedelta(days=30)).timestamp() * 1000)
    engine = make_engine(url)
    actors, users = member_rows(rng, base, domain, now, start_ms, members)
    actor_ids = [a["id"] for a in actors]
    followers: dict[int, list[int]] = {a: [] for a in actor_ids}
    follow_rows = []
    fid = iter(_ids(start_ms - 5_000_000, members * follows, 1_000_000))
    for a in actor_ids:
        targets = [b for b in rng.sample(actor_ids, min(follows + 1, members)) if b != a]
        for b in targets[:follows]:
            followers[b].append(a)
            follow_rows.append({"id": next(fid), "follower_id": a, "followee_id": b,
                                    "state": "accepted", "uri": f"{base}/f/{a}/{b}", "created_at": now})
    names = {a["id"]: a["username"] for a in actors}
    status_ids = _ids(start_ms, statuses, 30 * 86_400_000 - 60_000)
    status_rows, timeline_rows, mention_rows, tag_rows, like_rows = [], [], [], [], []
    extra = iter(_ids(start_ms + 1, statuses * (follows + 8), 30 * 86_400_000 - 60_000))
    for sid in status_ids:
        author = rng.choice(actor_ids)
        audience = rng.choice(AUDIENCES)
        name = names[author]
        uri = f"{base}/users/{name}/statuses/{sid}"
        created = datetime.fromtimestamp((sid >> 16) / 1000, tz=UTC)
        status_rows.append({"id": sid, "uri": uri, "actor_id": author, "local": True,
                                "visibility": audience, "type": "Note", "content": "<p>" + (
                                    "Bonjour les voisins, qui connaît un bon artisan ? " * 3)
                                + "</p>", "source": None, "spoiler_text": "", "sensitive": False,
                                "language": "fr", "url": uri, "recipients": {}, "created_at": created})
        owners = [author]
        if audience == "direct":
            target = rng.choice(actor_ids)
            mention_rows.append({"id": next(extra), "status_id": sid, "actor_id": target})
            owners.append(target)
        else:
            owners.extend(followers[author])
        for owner in dict.fromkeys(owners):
            timeline_rows.append({"id": next(extra), "owner_id": owner, "status_id": sid})
        if rng.random() < 0.1:
            tag_rows.append({"id": next(extra), "status_id": sid, "name": "quartier"})
        if rng.random() < 0.2 and followers[author]:
            for liker in rng.sample(followers[author], min(2, len(followers[author]))):
                like_rows.append({"id": next(extra), "kind": "like", "actor_id": liker,
                                      "status_id": sid, "uri": f"{base}/likes/{sid}/{liker}",
                                      "created_at": created})
    app_id = _ids(start_ms - 30_000_000, 1, 1)[0]
    oauth_rows, tokens = token_rows(users, app_id, now)
    with engine.begin() as conn:
        _bulk(conn, Actor.__table__, actors)
        _bulk(conn, User.__table__, users)
        _bulk(conn, Follow.__table__, follow_rows)
        _bulk(conn, Status.__table__, status_rows)
        _bulk(conn, Mention.__table__, mention_rows)
        _bulk(conn, Tag.__table__, tag_rows)
        _bulk(conn, Interaction.__table__, like_rows)
        _bulk(conn, TimelineEntry.__table__, timeline_rows)
        conn.execute(insert(OAuthApp.__table__), [app_row(app_id, now)])
        _bulk(conn, OAuthToken.__table__, oauth_rows)
    if url.startswith("postgresql"):
        with engine.connect() as conn:
            conn.exec_driver_sql("COMMIT")
            conn.exec_driver_sql("ANALYZE")
    else:
        with engine.begin() as conn:
            conn.exec_driver_sql("ANALYZE")
    engine.dispose()
    print(f"seeded {members} members, {len(follow_rows)} follows, {statuses} statuses, "
          f"{len(timeline_rows)} timeline rows", flush=True)
    return tokens


def seed_notifications(url: str) -> int:
    """Additive: the notifications the seeded likes, direct mentions and follows would have
    made (a favourite for the liked status's author, a mention for the mentioned member, a
    follow for the followee), for ``/api/v1/notifications``. Returns how many."""
    from sqlalchemy import select

    engine = make_engine(url)
    with engine.begin() as conn:
        likes = conn.execute(select(Interaction.id, Interaction.actor_id, Interaction.status_id,
                                    Status.actor_id, Interaction.created_at)
                             .join(Status, Status.id == Interaction.status_id)
                             .where(Interaction.kind == "like")).all()
        mentions = conn.execute(select(Mention.id, Status.actor_id, Mention.status_id,
                                       Mention.actor_id, Status.created_at)
                                .join(Status, Status.id == Mention.status_id)).all()
        follows = conn.execute(select(Follow.id, Follow.follower_id, Follow.followee_id,
                                      Follow.created_at)
                               .where(Follow.state == "accepted")).all()
        rows = [{"id": i + 1, "owner_id": owner, "type": "favourite", "from_actor_id": liker,
                     "status_id": sid, "created_at": at}
                for i, liker, sid, owner, at in likes if owner != liker]
        rows += [{"id": i + 1, "owner_id": owner, "type": "mention", "from_actor_id": author,
                      "status_id": sid, "created_at": at}
                 for i, author, sid, owner, at in mentions if owner != author]
        rows += [{"id": i + 1, "owner_id": followee, "type": "follow", "from_actor_id": follower,
                      "status_id": None, "created_at": at} for i, follower, followee, at in follows]
        _bulk(conn, Notification.__table__, rows)
        if url.startswith("sqlite"):
            conn.exec_driver_sql("ANALYZE")
    if url.startswith("postgresql"):
        with engine.connect() as conn:
            conn.exec_driver_sql("COMMIT")
            conn.exec_driver_sql("ANALYZE notifications")
    engine.dispose()
    return len(rows)


# --- at scale, on PostgreSQL ------------------------------------------------------------------

TAG_NAMES = ["quartier"] * 6 + ["plomberie", "plombier", "boulangerie", "jardinage"]
CONTENTS = ["Bonjour les voisins, qui connaît un bon artisan ? " * 3] * 49 + [
    "Fuite sous l'évier : un plombier du quartier disponible cette semaine ? " * 2]


def _copy(conn: Any, table: Any, rows: Any) -> int:
    """COPY ``rows`` (dicts sharing the first one's keys, any iterable) into ``table``."""
    rows = iter(rows)
    first = next(rows, None)
    if first is None:
        return 0
    columns = list(first)
    count = 0
    with conn.cursor() as cur, cur.copy(
            f"COPY {table.name} ({', '.join(columns)}) FROM STDIN") as copy:
        for row in _chain(first, rows):
            copy.write_row([json.dumps(v) if isinstance(v, (dict, list)) else v
                            for v in (row[c] for c in columns)])
            count += 1
    return count


def _chain(first: dict[str, Any], rest: Any) -> Any:
    yield first
    yield from rest


def _drop_secondary(conn: Any, tables: tuple[str, ...]) -> list[str]:
    """Drop the unique constraints and indexes (not the primary keys) of ``tables``; returns
    the statements that make them again."""
    again = []
    for name, definition, table in conn.execute(
            "SELECT conname, pg_get_constraintdef(oid), conrelid::regclass::text "
            "FROM pg_constraint WHERE contype = 'u' AND conrelid::regclass::text = ANY(%s)",
            [list(tables)]).fetchall():
        conn.execute(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"')
        again.append(f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {definition}')
    for name, definition in conn.execute(
            "SELECT i.indexname, i.indexdef FROM pg_indexes i WHERE i.tablename = ANY(%s) "
            "AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conname = i.indexname)",
            [list(tables)]).fetchall():
        conn.execute(f'DROP INDEX "{name}"')
        again.append(definition)
    return again


def _remote_rows(rng: random.Random, now: datetime, start_ms: int, hubs: int,
                 per_hub: int) -> tuple[list[dict[str, Any]], ...]:
    """Linked hubs as the mesh stores them (fedi.services.neighbours, fedi.services.mesh):
    a ``neighbours`` row (linked both ways), a ``neighbour_sync`` row, and their members
    (``actors``) listed in their ``/members`` (``directory_listings``)."""
    neighbours, syncs, actors, listings = [], [], [], []
    ids = iter(_ids(start_ms - 40_000_000, hubs * (per_hub + 1), 1_000_000))
    for h in range(hubs):
        domain = f"hub{h:02d}.bench.test"
        base = f"https://{domain}"
        neighbours.append({"id": next(ids), "domain": domain, "state": "linked",
                               "outgoing_accepted": True, "incoming_accepted": True,
                               "actor_uri": f"{base}/actor", "follow_out_uri": f"{base}/f/out",
                               "follow_in_uri": f"{base}/f/in", "territory": ["75011"],
                               "source": "admin", "created_at": now, "updated_at": now})
        syncs.append({"domain": domain, "links": [], "due_at": now + timedelta(days=1),
                          "synced_at": now, "attempts": 0, "last_error": None})
        for i in range(per_hub):
            name = f"r{i:03d}"
            uri = f"{base}/users/{name}"
            aid = next(ids)
            actors.append({"id": aid, "uri": uri, "username": name, "domain": domain, "local": False,
                               "type": "Person", "display_name": f"Voisine {h}-{i}",
                               "summary": "<p>Voisine d'à côté</p>", "url": f"{base}/@{name}",
                               "inbox": f"{uri}/inbox", "shared_inbox": f"{base}/inbox",
                               "outbox": f"{uri}/outbox", "followers_url": f"{uri}/followers",
                               "following_url": f"{uri}/following", "key_id": f"{uri}#main-key",
                               "public_key_pem": None, "private_key_pem": None, "locked": True,
                               "discoverable": True, "fields": [], "trade": rng.choice(TRADES),
                               "postal_code": "75011", "created_at": now, "updated_at": now,
                               "fetched_at": now})
            listings.append({"actor_id": aid, "domain": domain, "listed_at": now})
    return neighbours, syncs, actors, listings


def seed_scale(url: str, domain: str, scheme: str, members: int, statuses: int, follows: int,
               *, hubs: int = 50, per_hub: int = 40, remote_follows: int = 3,
               remote_share: float = 0.05, seed_value: int = 7) -> list[dict[str, Any]]:
    """``seed`` at scale on PostgreSQL (a migrated database): the same members, follows,
    statuses of every audience, mentions, tags, likes, home-timeline rows, notifications
    and tokens, plus ``hubs`` linked hubs of ``per_hub`` members each; every member also
    follows ``remote_follows`` of them, and ``remote_share`` of the statuses are theirs
    (delivered to the followers, and to the neighbourhood timeline). Returns the tokens."""
    import psycopg

    from fedi.folding import document, profile_parts, sort_key
    from fedi.models import DirectoryListing, Neighbour, NeighbourSync

    rng = random.Random(seed_value)
    base = f"{scheme}://{domain}"
    now = datetime.now(UTC)
    start_ms = int((now - timedelta(days=30)).timestamp() * 1000)
    actors, users = member_rows(rng, base, domain, now, start_ms, members)
    neighbours, syncs, remote, listings = _remote_rows(rng, now, start_ms, hubs, per_hub)
    for a in [*actors, *remote]:  # what the ORM sets on a write (fedi.models.actor)
        a["directory_text"] = document(profile_parts(
            a["display_name"], a["username"], None, a["summary"], a["trade"],
            a["postal_code"], a["fields"]))
        a["directory_key"] = sort_key(a["display_name"], a["username"])
    local_ids = [a["id"] for a in actors]
    remote_ids = [a["id"] for a in remote]
    names = {a["id"]: (a["username"], a["uri"]) for a in [*actors, *remote]}
    fid = iter(range(1, 1 << 40))
    follow_rows = []
    for a in local_ids:
        targets = [b for b in rng.sample(local_ids, min(follows + 1, members)) if b != a]
        for b in [*targets[:follows], *rng.sample(remote_ids, min(remote_follows,
                                                                  len(remote_ids)))]:
            follow_rows.append({"id": next(fid), "follower_id": a, "followee_id": b,
                                    "state": "accepted", "uri": f"{base}/f/{a}/{b}", "created_at": now})
    followers: dict[int, list[int]] = {}
    for f in follow_rows:
        followers.setdefault(f["followee_id"], []).append(f["follower_id"])
    app_id = _ids(start_ms - 30_000_000, 1, 1)[0]
    oauth_rows, tokens = token_rows(users, app_id, now)
    mentions: list[dict[str, Any]] = []
    tags: list[dict[str, Any]] = []
    likes: list[dict[str, Any]] = []
    extra = iter(range(1, 1 << 40))

    def status_rows() -> Any:
        step = max(1, (30 * 86_400_000 - 60_000) // max(1, statuses))
        for i in range(statuses):
            sid = ((start_ms + i * step) << 16) | (i & 0xFFFF)
            is_remote = rng.random() < remote_share
            author = rng.choice(remote_ids if is_remote else local_ids)
            audience = (rng.choice(["neighbourhood", "followers"]) if is_remote
                        else rng.choice(AUDIENCES))
            uri = f"{names[author][1]}/statuses/{sid}"
            created = datetime.fromtimestamp((sid >> 16) / 1000, tz=UTC)
            if audience == "direct":
                mentions.append({"id": next(extra), "status_id": sid,
                                     "actor_id": rng.choice(local_ids)})
            if rng.random() < 0.1:
                tags.append({"id": next(extra), "status_id": sid, "name": rng.choice(TAG_NAMES)})
            fans = followers.get(author, [])
            if rng.random() < 0.2 and fans:
                for liker in rng.sample(fans, min(2, len(fans))):
                    likes.append({"id": next(extra), "kind": "like", "actor_id": liker,
                                      "status_id": sid, "uri": f"{base}/likes/{sid}/{liker}",
                                      "created_at": created})
            yield {"id": sid, "uri": uri, "actor_id": author, "local": not is_remote,
                       "visibility": audience, "type": "Note",
                       "content": "<p>" + rng.choice(CONTENTS) + "</p>", "source": None,
                       "spoiler_text": "", "sensitive": False, "language": "fr", "url": uri,
                       "recipients": {}, "created_at": created}

    started = time.monotonic()
    with psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://")) as conn:
        # Foreign keys are checked by triggers: this bulk load is consistent by construction.
        conn.execute("SET session_replication_role = replica")
        conn.execute("SET work_mem = '256MB'")
        for table, rows in ((Actor.__table__, [*actors, *remote]), (User.__table__, users),
                            (Neighbour.__table__, neighbours),
                            (NeighbourSync.__table__, syncs),
                            (DirectoryListing.__table__, listings),
                            (Follow.__table__, follow_rows),
                            (OAuthApp.__table__, [app_row(app_id, now)]),
                            (OAuthToken.__table__, oauth_rows)):
            _copy(conn, table, rows)
        count = _copy(conn, Status.__table__, status_rows())
        print(f"  {count} statuses copied in {time.monotonic() - started:.0f} s", flush=True)
        _copy(conn, Mention.__table__, mentions)
        _copy(conn, Tag.__table__, tags)
        _copy(conn, Interaction.__table__, likes)
        # Fan-out on write, as posting and the inbox do: the author (if local), the local
        # accepted followers of any audience but direct, and the mentioned of a direct one.
        # The secondary indexes are built once the rows are in (faster than row by row).
        rebuild = _drop_secondary(conn, ("timeline_entries", "notifications"))
        conn.execute("""
            INSERT INTO timeline_entries (id, owner_id, status_id)
            SELECT row_number() OVER (ORDER BY status_id, owner_id), owner_id, status_id FROM (
                SELECT s.actor_id AS owner_id, s.id AS status_id FROM statuses s WHERE s.local
                UNION
                SELECT f.follower_id, s.id FROM statuses s
                JOIN follows f ON f.followee_id = s.actor_id AND f.state = 'accepted'
                WHERE s.visibility <> 'direct'
                UNION
                SELECT m.actor_id, m.status_id FROM mentions m) AS fan""")
        print(f"  timeline rows in {time.monotonic() - started:.0f} s", flush=True)
        conn.execute("""
            INSERT INTO notifications (id, owner_id, type, from_actor_id, status_id, created_at)
            SELECT row_number() OVER (ORDER BY created_at, status_id), owner_id, type,
                   from_actor_id, status_id, created_at FROM (
                SELECT s.actor_id AS owner_id, 'favourite' AS type, i.actor_id AS from_actor_id,
                       s.id AS status_id, i.created_at FROM interactions i
                JOIN statuses s ON s.id = i.status_id
                WHERE i.kind = 'like' AND s.local AND s.actor_id <> i.actor_id
                UNION ALL
                SELECT m.actor_id, 'mention', s.actor_id, s.id, s.created_at FROM mentions m
                JOIN statuses s ON s.id = m.status_id WHERE s.actor_id <> m.actor_id
                UNION ALL
                SELECT f.followee_id, 'follow', f.follower_id, NULL, f.created_at FROM follows f
                JOIN actors a ON a.id = f.followee_id AND a.local) AS n""")
        for statement in rebuild:
            conn.execute(statement)
        print(f"  notifications and indexes in {time.monotonic() - started:.0f} s", flush=True)
        conn.commit()
    with psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://"),
                         autocommit=True) as conn:
        conn.execute("VACUUM (ANALYZE)")
    print(f"seeded {members} members, {len(remote)} members of {hubs} linked hubs, "
          f"{len(follow_rows)} follows, {statuses} statuses in "
          f"{time.monotonic() - started:.0f} s", flush=True)
    return tokens


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("database_url")
    parser.add_argument("--domain", required=True)
    parser.add_argument("--scheme", default="http")
    parser.add_argument("--members", type=int, default=1000)
    parser.add_argument("--statuses", type=int, default=100_000)
    parser.add_argument("--follows", type=int, default=20)
    parser.add_argument("--tokens-out")
    parser.add_argument("--notifications", action="store_true",
                        help="also the notifications of the likes, mentions and follows")
    args = parser.parse_args()
    started = time.monotonic()
    tokens = seed(args.database_url, args.domain, args.scheme, args.members, args.statuses,
                  args.follows)
    if args.notifications:
        print(f"{seed_notifications(args.database_url)} notifications")
    if args.tokens_out:
        Path(args.tokens_out).write_text(json.dumps(tokens), encoding="utf-8")
    print(f"in {time.monotonic() - started:.1f} s")


if __name__ == "__main__":
    main()

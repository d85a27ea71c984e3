"""Seed a migrated hub database for benchmarks: members, follows, statuses of every
audience, their home-timeline rows (fan-out on write, as posting does), mentions, tags,
likes, and one OAuth token per member. Bulk inserts through SQLAlchemy Core.

    .venv/bin/python bench/seed.py DATABASE_URL --domain 127.0.0.1:8000 \\
        [--members 1000] [--statuses 100000] [--follows 20] [--tokens-out tokens.json]
        [--notifications]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import secrets
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import insert  # noqa: E402

from fedi.db import make_engine  # noqa: E402
from fedi.models import (  # noqa: E402
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
from fedi.services.accounts import hash_password  # noqa: E402

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


def seed(url: str, domain: str, scheme: str, members: int, statuses: int, follows: int,
         seed_value: int = 7) -> list[dict[str, Any]]:
    rng = random.Random(seed_value)
    base = f"{scheme}://{domain}"
    now = datetime.now(timezone.utc)
    start_ms = int((now - timedelta(days=30)).timestamp() * 1000)
    engine = make_engine(url)
    password_hash = hash_password("bench-password")
    actor_ids = _ids(start_ms - 10_000_000, members, 1_000_000)
    user_ids = _ids(start_ms - 20_000_000, members, 1_000_000)
    actors, users = [], []
    for i, (aid, uid) in enumerate(zip(actor_ids, user_ids)):
        name = f"m{i:05d}"
        uri = f"{base}/users/{name}"
        actors.append(dict(id=aid, uri=uri, username=name, domain=domain, local=True,
                           type="Person", display_name=f"Membre {i}", summary="<p>Voisin</p>",
                           url=f"{base}/@{name}", inbox=f"{uri}/inbox",
                           shared_inbox=f"{base}/inbox", outbox=f"{uri}/outbox",
                           followers_url=f"{uri}/followers", following_url=f"{uri}/following",
                           key_id=f"{uri}#main-key", public_key_pem=None, private_key_pem=None,
                           locked=True, discoverable=True, fields=[], trade=rng.choice(TRADES),
                           postal_code="75011", created_at=now, updated_at=now))
        users.append(dict(id=uid, actor_id=aid, email=f"{name}@bench.test",
                          password_hash=password_hash, role="member",
                          default_visibility="private", locale="fr", disabled=False,
                          created_at=now))
    followers: dict[int, list[int]] = {a: [] for a in actor_ids}
    follow_rows = []
    fid = iter(_ids(start_ms - 5_000_000, members * follows, 1_000_000))
    for a in actor_ids:
        targets = [b for b in rng.sample(actor_ids, min(follows + 1, members)) if b != a]
        for b in targets[:follows]:
            followers[b].append(a)
            follow_rows.append(dict(id=next(fid), follower_id=a, followee_id=b,
                                    state="accepted", uri=f"{base}/f/{a}/{b}", created_at=now))
    names = {a["id"]: a["username"] for a in actors}
    status_ids = _ids(start_ms, statuses, 30 * 86_400_000 - 60_000)
    status_rows, timeline_rows, mention_rows, tag_rows, like_rows = [], [], [], [], []
    extra = iter(_ids(start_ms + 1, statuses * (follows + 8), 30 * 86_400_000 - 60_000))
    for sid in status_ids:
        author = rng.choice(actor_ids)
        audience = rng.choice(AUDIENCES)
        name = names[author]
        uri = f"{base}/users/{name}/statuses/{sid}"
        created = datetime.fromtimestamp((sid >> 16) / 1000, tz=timezone.utc)
        status_rows.append(dict(id=sid, uri=uri, actor_id=author, local=True,
                                visibility=audience, type="Note", content="<p>" + (
                                    "Bonjour les voisins, qui connaît un bon artisan ? " * 3)
                                + "</p>", source=None, spoiler_text="", sensitive=False,
                                language="fr", url=uri, recipients={}, created_at=created))
        owners = [author]
        if audience == "direct":
            target = rng.choice(actor_ids)
            mention_rows.append(dict(id=next(extra), status_id=sid, actor_id=target))
            owners.append(target)
        else:
            owners.extend(followers[author])
        for owner in dict.fromkeys(owners):
            timeline_rows.append(dict(id=next(extra), owner_id=owner, status_id=sid))
        if rng.random() < 0.1:
            tag_rows.append(dict(id=next(extra), status_id=sid, name="quartier"))
        if rng.random() < 0.2 and followers[author]:
            for liker in rng.sample(followers[author], min(2, len(followers[author]))):
                like_rows.append(dict(id=next(extra), kind="like", actor_id=liker,
                                      status_id=sid, uri=f"{base}/likes/{sid}/{liker}",
                                      created_at=created))
    app_id = _ids(start_ms - 30_000_000, 1, 1)[0]
    token_rows, tokens = [], []
    for i, (aid, uid) in enumerate(zip(actor_ids, user_ids)):
        token = secrets.token_urlsafe(32)
        token_rows.append(dict(id=user_ids[i] + 1, token_hash=hashlib.sha256(
            token.encode()).hexdigest(), refresh_hash=None, app_id=app_id, user_id=uid,
            scopes="read write follow", created_at=now, revoked_at=None))
        tokens.append({"actor_id": aid, "token": token})
    with engine.begin() as conn:
        _bulk(conn, Actor.__table__, actors)
        _bulk(conn, User.__table__, users)
        _bulk(conn, Follow.__table__, follow_rows)
        _bulk(conn, Status.__table__, status_rows)
        _bulk(conn, Mention.__table__, mention_rows)
        _bulk(conn, Tag.__table__, tag_rows)
        _bulk(conn, Interaction.__table__, like_rows)
        _bulk(conn, TimelineEntry.__table__, timeline_rows)
        conn.execute(insert(OAuthApp.__table__), [dict(
            id=app_id, name="bench", website=None, client_id=secrets.token_hex(8),
            client_secret=secrets.token_hex(8), redirect_uris="urn:ietf:wg:oauth:2.0:oob",
            scopes="read write follow", created_at=now)])
        _bulk(conn, OAuthToken.__table__, token_rows)
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
        rows = [dict(id=i + 1, owner_id=owner, type="favourite", from_actor_id=liker,
                     status_id=sid, created_at=at)
                for i, liker, sid, owner, at in likes if owner != liker]
        rows += [dict(id=i + 1, owner_id=owner, type="mention", from_actor_id=author,
                      status_id=sid, created_at=at)
                 for i, author, sid, owner, at in mentions if owner != author]
        rows += [dict(id=i + 1, owner_id=followee, type="follow", from_actor_id=follower,
                      status_id=None, created_at=at) for i, follower, followee, at in follows]
        _bulk(conn, Notification.__table__, rows)
        if url.startswith("sqlite"):
            conn.exec_driver_sql("ANALYZE")
    if url.startswith("postgresql"):
        with engine.connect() as conn:
            conn.exec_driver_sql("COMMIT")
            conn.exec_driver_sql("ANALYZE notifications")
    engine.dispose()
    return len(rows)


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

from __future__ import annotations

from pathlib import Path

from apiworld import ApiWorld, ok


def test_smoke(tmp_path: Path) -> None:
    world = ApiWorld(f"sqlite:///{tmp_path / 'hub.db'}")
    try:
        alice = world.member("alice")
        bob = world.member("bob")
        me = ok(world.get(alice, "/api/v1/accounts/verify_credentials"))
        assert me["username"] == alice.username and me["source"]["privacy"] == "private"
        post = ok(world.post_json(alice, "/api/v1/statuses", {"status": "Bonjour #voisins"}))
        assert post["visibility"] == "private"
        home = world.get(alice, "/api/v1/timelines/home")
        assert [s["id"] for s in ok(home)] == [post["id"]]
        assert 'rel="next"' in home.headers["link"]
        assert ok(world.get(bob, f"/api/v1/statuses/{post['id']}"), 404)
        ok(world.get(None, "/api/v2/instance"))
        ok(world.get(None, "/api/v1/instance/"))
    finally:
        world.close()

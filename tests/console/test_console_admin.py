"""Admin-only pages: trades, neighbours, hub settings (bad input re-displayed, nothing
changed; every change audited)."""

from __future__ import annotations

from collections.abc import Callable

from console_world import console_post, logged_in
from sqlalchemy import select
from support.hubs import HubProcess
from support.world import query

from fedi.models import AuditEntry, Neighbour
from fedi.services.hub_settings import get_setting
from fedi.services.trades import find_trade


def test_trades_neighbours_and_settings(make_hub: Callable[..., HubProcess]) -> None:
    hub = make_hub("admin")
    hub.add_user("claire", role="admin")
    hub.add_user("manon", role="moderator")
    hub.start()
    with logged_in(hub, "manon") as manon:
        assert manon.get("/console/settings").status_code == 403
        assert manon.get("/console/trades").status_code == 403
    with logged_in(hub, "claire") as claire:
        bad = console_post(claire, "/console/trades", "/console/trades", {"label_fr": "x" * 200})
        assert bad.status_code == 422 and "1 à 120 caractères" in bad.text
        ok = console_post(claire, "/console/trades", "/console/trades",
                          {"label_fr": "Apiculteur", "label_en": "Beekeeper"})
        assert ok.status_code == 303
        assert console_post(claire, "/console/trades", "/console/trades/rule",
                            {"rule": "on"}).status_code == 303
        wrong = console_post(claire, "/console/settings", "/console/settings",
                             {"registration_mode": "everyone", "trade_rule_action": "refuse"})
        assert wrong.status_code == 422 and 'aria-invalid="true"' in wrong.text
        saved = console_post(claire, "/console/settings", "/console/settings", {
            "registration_mode": "approval", "trade_rule_action": "waitlist",
            "trade_rule": "on", "members_may_invite": "on"})
        assert saved.status_code == 303
        nowhere = console_post(claire, "/console/neighbours", "/console/neighbours",
                               {"domain": "not a domain!"})
        assert nowhere.status_code == 422 and "nom de domaine" in nowhere.text
        linked = console_post(claire, "/console/neighbours", "/console/neighbours",
                              {"domain": "127.0.0.250:9"})
        assert linked.status_code == 303
        assert "127.0.0.250:9" in claire.get("/console/neighbours").text
        gone = console_post(claire, "/console/neighbours",
                            "/console/neighbours/127.0.0.250:9/unlink")
        assert gone.status_code == 303
    assert query(hub, lambda s: find_trade(s, "apiculteur").label_en) == "Beekeeper"
    assert query(hub, lambda s: get_setting(s, "registration_mode")) == "approval"
    assert query(hub, lambda s: get_setting(s, "members_may_invite")) is True
    assert query(hub, lambda s: s.scalar(select(Neighbour.state).where(
        Neighbour.domain == "127.0.0.250:9"))) == "refused"
    actions = query(hub, lambda s: [e.action for e in s.scalars(
        select(AuditEntry).order_by(AuditEntry.id))])
    assert actions[:3] == ["trade.add", "trade.rule", "settings.set"]
    assert actions[-2:] == ["neighbour.link", "neighbour.unlink"]

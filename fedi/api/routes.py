"""Every client API route, in matching order (fixed paths before ``{id}`` ones)."""

from __future__ import annotations

from starlette.routing import BaseRoute


def api_routes() -> list[BaseRoute]:
    from fedi.api import (
        accounts,
        apps,
        conversations,
        instance,
        markers,
        notifications,
        oauth,
        polls,
        relationships,
        search,
        status_actions,
        statuses,
        stubs,
        timelines,
        tokens,
    )

    modules = [apps, oauth, tokens, instance, relationships, accounts, statuses, status_actions,
               timelines,
               conversations,
        markers, notifications, search, stubs]
    modules.insert(modules.index(stubs), polls)
    from fedi.api import media

    modules.insert(modules.index(stubs), media)  # before the stubs' media answers
    from fedi.api import articles, events

    modules += [events, articles]
    from fedi.api import reports

    modules.insert(modules.index(stubs), reports)
    from fedi.api import lists, notification_groups, notification_requests

    # Before /notifications/{id}: requests and policy are fixed paths.
    modules.insert(modules.index(notifications), notification_requests)
    modules.insert(modules.index(notifications) + 1, notification_groups)
    modules.insert(modules.index(accounts), lists)  # before /accounts/{id}/lists, timelines
    from fedi.api import announcements

    modules.insert(modules.index(stubs), announcements)
    return [route for module in modules for route in module.routes]

"""Every route of the member site, each behind the CSRF guard (fedi.web.csrf).

A page module exposes ``routes = [...]``: import it here and add ``*module.routes`` to the
list (one line each, in any order; the app adds these routes after the API's).
"""

from __future__ import annotations

from fedi.site import (
    account_delete,
    announcements,
    assets,
    auth,
    blog,
    calendar_feed,
    compose,
    conversations,
    data,
    directory,
    email_change,
    events,
    front,
    invites,
    legal,
    migration,
    notifications,
    password,
    profile,
    profile_edit,
    settings,
    timeline,
    two_factor,
)
from fedi.web.csrf import guard_routes

routes = guard_routes([
    *assets.routes,
    *auth.routes,
    *settings.routes,
    *email_change.routes,
    *account_delete.routes,
    *front.routes,
    *blog.routes,  # before timeline's /@{acct}/{id}
    *events.routes,
    *calendar_feed.routes,
    *timeline.routes,
    *compose.routes,
    *profile.routes,
    *profile_edit.routes,
    *directory.routes,
    *invites.routes,
    *notifications.routes,
    *conversations.routes,
    *password.routes,
    *two_factor.routes,
    *announcements.routes,
    *data.routes,
    *legal.routes,
    *migration.routes,
])

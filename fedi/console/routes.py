"""Every route of the console (/console…), each behind the CSRF guard (fedi.web.csrf) and
a role check (fedi.console.access.require_role). tests/console/test_console_routes.py
walks this list: a route without both fails it."""

from __future__ import annotations

from fedi.console import (
    announcements,
    applications,
    audit_log,
    dashboard,
    hub_admin,
    identity,
    legal,
    member_delete,
    members,
)
from fedi.console import reports as report_pages
from fedi.console.deliveries import routes as delivery_routes
from fedi.console.domains import routes as domain_routes
from fedi.web.csrf import guard_routes

routes = guard_routes([
    *dashboard.routes,
    *members.routes,
    *member_delete.routes,
    *applications.routes,
    *audit_log.routes,
    *hub_admin.routes,
    *announcements.routes,
    *legal.routes,
    *identity.routes,
    *report_pages.routes,
    *domain_routes,
    *delivery_routes,
])

"""ActivityStreams constants: contexts, media types. Pure."""

from __future__ import annotations

AS = "https://www.w3.org/ns/activitystreams"
SECURITY = "https://w3id.org/security/v1"
AS_PUBLIC = "https://www.w3.org/ns/activitystreams#Public"
PUBLIC_FORMS = frozenset({AS_PUBLIC, "as:Public", "Public"})

ACTIVITY_JSON = "application/activity+json"
LD_JSON_PROFILE = 'application/ld+json; profile="https://www.w3.org/ns/activitystreams"'
JRD_JSON = "application/jrd+json"
ACCEPT_AP = f'{ACTIVITY_JSON}, {LD_JSON_PROFILE}'

# Mastodon's own (incorrect) schema IRI: processors match on it, so emit it exactly.
# https://docs.joinmastodon.org/spec/activitypub/#PropertyValue
ACTOR_CONTEXT: list[object] = [
    AS,
    SECURITY,
    {
        "manuallyApprovesFollowers": "as:manuallyApprovesFollowers",
        "toot": "http://joinmastodon.org/ns#",
        "featured": {"@id": "toot:featured", "@type": "@id"},
        "schema": "http://schema.org#",
        "PropertyValue": "schema:PropertyValue",
        "value": "schema:value",
        "discoverable": "toot:discoverable",
        "indexable": "toot:indexable",
        "suspended": "toot:suspended",
        "alsoKnownAs": {"@id": "as:alsoKnownAs", "@type": "@id"},
        "movedTo": {"@id": "as:movedTo", "@type": "@id"},
        "voisins": "https://voisins.social/ns#",
        "trade": "voisins:trade",
        "businessName": "voisins:businessName",
        "postalCode": "schema:postalCode",
        "members": {"@id": "voisins:members", "@type": "@id"},
        "territory": "voisins:territory",
    },
]


def is_activitypub_media_type(value: str) -> bool:
    """True for application/activity+json and application/ld+json (with any profile)."""
    main = value.split(";", 1)[0].strip().lower()
    return main in {"application/activity+json", "application/ld+json"}


def accepts_activitypub(accept: str) -> bool:
    """Does an Accept header ask for ActivityPub JSON (rather than a page)?"""
    for part in accept.split(","):
        if is_activitypub_media_type(part):
            return True
    return False

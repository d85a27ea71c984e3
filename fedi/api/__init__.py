"""The Mastodon client API: one module per resource, thin over ``fedi.services``."""

"""The hub's web console for admins and the community manager (moderator), at /console."""

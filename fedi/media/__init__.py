"""Media: image checks and processing, blurhash, default pictures and file storage.

Pure of the database and of HTTP: the services (fedi.services.media) decide who may see
what; this package only turns bytes into safe stored copies and back."""

/* server/mime.h: the Content-Type Swift guesses from an object name.
 *
 * Swift's proxy calls Python's mimetypes.guess_type() on the path when a
 * PUT has no Content-Type (or sends X-Detect-Content-Type: true); a few
 * compression suffixes are looked through (".tar.gz" is application/x-tar,
 * a bare ".gz" is unknown). Pure function over a built-in table. */
#ifndef SWIFTLET_SERVER_MIME_H
#define SWIFTLET_SERVER_MIME_H

/* The type for the last path component of name, or
 * "application/octet-stream" when unknown. Never NULL; static storage. */
const char *mime_guess(const char *name);

#endif

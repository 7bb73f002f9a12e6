/*
 * json - just enough JSON reading for the files runc and containerd hand
 * us: config.json (annotations, pid namespace), log.json (runc's last
 * error), `runc ps --format json` (a pid array) and an exec's process spec
 * (the "terminal" key we must overwrite).
 *
 * Owns: a scanner over a caller's buffer.  No allocation, no copies except
 * into the caller's fixed buffers.  Values are pointers into the input;
 * every function takes the end of the input and never reads past it.
 */
#ifndef NS_JSON_H
#define NS_JSON_H

#include <stdbool.h>
#include <stddef.h>

/* Skip blanks; the first non-blank byte (or end). */
const char *json_ws(const char *p, const char *end);
/* The byte after the value starting at p, or NULL if it is malformed. */
const char *json_skip(const char *p, const char *end);
/*
 * In the object at obj ('{'), the value of key, or NULL.  With key_at
 * set, also where the key's opening quote is (for rewriting).
 */
const char *json_get(const char *obj, const char *end, const char *key,
    const char **key_at);
/*
 * Decode the string value at v into dst (NUL-terminated, truncated to
 * cap - 1 bytes).  -EINVAL if v is not a string.
 */
int json_str(const char *v, const char *end, char *dst, size_t cap);
/* True when the string value at v equals s. */
bool json_str_eq(const char *v, const char *end, const char *s);
/*
 * Walk an array: *it = NULL first; each call gives the next element's
 * start, or NULL at the end or on a malformed array.
 */
const char *json_next(const char *arr, const char *end, const char **it);
/* Parse an integer value. -EINVAL if not an integer. */
int json_int(const char *v, const char *end, long long *out);
/*
 * Write s as a JSON string (with quotes) into dst; the length written, or
 * 0 if it does not fit.
 */
size_t json_quote(char *dst, size_t cap, const char *s);

#endif

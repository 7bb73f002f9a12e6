/*
 * sha256 - FIPS 180-4 SHA-256, for the shim socket name (spec 1.2).
 * Owns nothing else.
 */
#ifndef NS_SHA256_H
#define NS_SHA256_H

#include <stddef.h>
#include <stdint.h>

/* Hash len bytes of p; write 64 lowercase hex digits and a NUL to hex. */
void sha256_hex(const void *p, size_t len, char hex[65]);

#endif

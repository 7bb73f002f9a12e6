/*
 * pbs - protobuf slices: how nanopb sees every string, bytes and repeated
 * field of our schema.
 *
 * Owns: the callback datatype named in proto/<file>.options and the one
 * callback nanopb calls for it; a request-scoped arena that chains the
 * elements of repeated fields; decoding and encoding a whole message
 * (pbs_decode, pbs_encode).  Does not own: any message's meaning.
 *
 * Decoding never copies.  A singular string/bytes field becomes a slice of
 * the buffer being decoded (the ttrpc frame), a repeated one becomes a
 * chain of such slices kept in the arena.  Whoever needs a value after the
 * frame is gone copies it (pbs_copy) into its own fixed storage.  Encoding
 * is the same in reverse: point a slice at our memory and nanopb writes it.
 * This is what lets a 4 MiB frame be served without a 4 MiB struct:
 * decoded structs stay a few hundred bytes whatever the frame holds.
 *
 * A repeated *message* field (CreateTaskRequest.rootfs, Request.metadata,
 * map entries, Status.details) is a chain of the elements' encodings: walk
 * it with pbs_next and pbs_decode each element into its own struct.
 *
 * Decode through pbs_decode only.  Plain pb_decode leaves callback fields
 * as they were (so stale slices would survive), and pbs_field_cb refuses
 * to run outside pbs_decode because it could not tell a length-delimited
 * field from a scalar one sent with the wrong wire type.
 *
 * The nanopb *_init_zero / *_init_default macros do not compile for
 * messages with struct pbs fields (nanopb hardcodes pb_callback_t's
 * initializer): start from "= {0}" or memset instead.
 */
#ifndef NS_PBS_H
#define NS_PBS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <pb.h>

struct pbs {
	const uint8_t *p;	/* singular: the bytes (not NUL-terminated) */
	uint32_t len;
	uint32_t n;		/* singular: 1 if present; repeated: count */
	uint32_t head;		/* repeated: first entry + 1, 0: none */
	uint32_t tail;		/* repeated: last entry + 1 */
};

struct pbs_iter {
	uint32_t next;
};

/* Forget every repeated-field element; call before decoding a new frame. */
void pbs_reset(void);

/* Arena entries in use, and the arena's size (for the limits table). */
uint32_t pbs_arena_used(void);
uint32_t pbs_arena_size(void);

/* Point s at len bytes of p (encoding); a NULL or empty p leaves it unset. */
void pbs_set(struct pbs *s, const void *p, size_t len);
/* Same for a NUL-terminated string. */
void pbs_setstr(struct pbs *s, const char *str);
/* Write v as a protobuf varint at p (room for 10 bytes); its length. */
size_t pbs_varint(uint8_t *p, uint64_t v);
/*
 * Append an element to a repeated field (an empty element is a real one);
 * -ENOSPC when the arena is full, -EINVAL for a NULL p with len > 0.
 */
int pbs_add(struct pbs *s, const void *p, size_t len);

/*
 * Walk a repeated field: it = {0} first, then until it returns false.
 * A singular slice walks as one element if present.
 */
bool pbs_next(const struct pbs *s, struct pbs_iter *it, const uint8_t **p,
    uint32_t *len);

/*
 * Copy a string slice into dst (NUL-terminated).  -ENAMETOOLONG if it does
 * not fit, -EINVAL if it holds a NUL byte.  An unset slice copies as "".
 */
int pbs_copy(const struct pbs *s, char *dst, size_t cap);
/* True when the slice equals the C string str (unset equals ""). */
bool pbs_eq(const struct pbs *s, const char *str);

/*
 * Decode len bytes at buf as a message of the given type into dst, which
 * is cleared first.  Slices in dst point into buf: buf must outlive dst.
 * Repeated elements are appended to the arena (pbs_reset is the caller's
 * business); a failed decode gives back the entries it took.
 * Returns 0, -EBADMSG when the bytes are not a valid message (garbage,
 * truncation, a wrong wire type), -ENOSPC when the arena filled up, or
 * -EINVAL for a NULL buf with len > 0 (buf NULL, len 0 is an empty message).
 * If err is not NULL it receives a constant message on failure (nanopb's,
 * or "pbs arena full (65536 elements)").  dst is unspecified on failure.
 */
int pbs_decode(const pb_msgdesc_t *type, void *dst, const void *buf,
    size_t len, const char **err);

/*
 * Encode src into buf (cap bytes); *len receives the encoded size.  With
 * buf NULL only the size is computed.  Returns 0, -EMSGSIZE when it does
 * not fit, or -EINVAL for a message nanopb refuses to encode.
 */
int pbs_encode(const pb_msgdesc_t *type, const void *src, void *buf,
    size_t cap, size_t *len, const char **err);

/*
 * The callback every message of our schema names (callback_function in
 * proto/<file>.options); nanopb calls it with istream set to decode one field
 * occurrence, or with ostream set to encode the whole field.
 */
bool pbs_field_cb(pb_istream_t *istream, pb_ostream_t *ostream,
    const pb_field_t *field);

#endif

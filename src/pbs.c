/*
 * pbs - protobuf slices (see pbs.h).
 *
 * Owns: the element arena of repeated fields, the callback nanopb calls
 * for every struct pbs field, and the two entry points that wrap nanopb's
 * decoder and encoder.  Does not own: which message a buffer holds, or
 * what any field means.
 *
 * Mirrors nothing in containerd: Go's protobuf allocates a string per
 * field, we point into the frame instead.  Built with PB_BUFFER_ONLY, so
 * an input stream's state is simply the current read pointer.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <pb.h>
#include <pb_common.h>
#include <pb_decode.h>
#include <pb_encode.h>

#include "pbs.h"

/*
 * Elements of repeated fields per frame.  Kubernetes caps an object's
 * annotations at 256 KiB in total, so even one-byte keys give fewer than
 * 65536 map entries (the largest list a shim request can carry); mounts,
 * mount options and metadata count in the tens.  16-byte entries: 1 MiB
 * of .bss, paged in only as far as a frame actually uses it.
 */
#define PBS_ARENA_SIZE	65536
#define PBS_STR(x)	PBS_STR2(x)
#define PBS_STR2(x)	#x
#define PBS_ERR_FULL	\
	"pbs arena full (" PBS_STR(PBS_ARENA_SIZE) " elements)"

/* pbs_iter.next once the walk is over (arena indices stay far below). */
#define PBS_END		UINT32_MAX

struct pbs_elem {
	const uint8_t	*e_p;
	uint32_t	 e_len;
	uint32_t	 e_next;	/* next entry + 1, 0 = last */
};

static struct pbs_elem pbs_arena[PBS_ARENA_SIZE];
static uint32_t pbs_used;

/*
 * The buffer pbs_decode is working on.  A length-delimited field always
 * lies inside it; nanopb hands the callback a copy on its own stack when
 * the peer sent the field with a scalar wire type, and that copy does not.
 */
static uintptr_t pbs_in_lo;
static uintptr_t pbs_in_hi;
static const char *pbs_why;	/* our last refusal, see pbs_decode */
static bool pbs_full;		/* that refusal was the arena's */

void
pbs_reset(void)
{
	pbs_used = 0;
}

uint32_t
pbs_arena_used(void)
{
	return pbs_used;
}

uint32_t
pbs_arena_size(void)
{
	return PBS_ARENA_SIZE;
}

void
pbs_set(struct pbs *s, const void *p, size_t len)
{
	memset(s, 0, sizeof(*s));
	if (p == NULL || len == 0)
		return;
	/* No frame holds 4 GiB; such a length is a caller's bug. */
	if (len > UINT32_MAX)
		abort();
	s->p = p;
	s->len = (uint32_t)len;
	s->n = 1;
}

void
pbs_setstr(struct pbs *s, const char *str)
{
	pbs_set(s, str, str != NULL ? strlen(str) : 0);
}

size_t
pbs_varint(uint8_t *p, uint64_t v)
{
	size_t n = 0;

	do {
		p[n++] = (uint8_t)((v & 0x7f) | (v > 0x7f ? 0x80 : 0));
		v >>= 7;
	} while (v);
	return n;
}

int
pbs_add(struct pbs *s, const void *p, size_t len)
{
	struct pbs_elem *e;

	if (p == NULL && len > 0)
		return -EINVAL;
	if (len > UINT32_MAX)
		return -EMSGSIZE;
	if (pbs_used == PBS_ARENA_SIZE)
		return -ENOSPC;
	e = &pbs_arena[pbs_used++];
	e->e_p = p;
	e->e_len = (uint32_t)len;
	e->e_next = 0;
	if (s->head == 0)
		s->head = pbs_used;
	else
		pbs_arena[s->tail - 1].e_next = pbs_used;
	s->tail = pbs_used;
	s->n++;
	return 0;
}

bool
pbs_next(const struct pbs *s, struct pbs_iter *it, const uint8_t **p,
    uint32_t *len)
{
	const struct pbs_elem *e;
	uint32_t i;

	if (it->next == PBS_END)
		return false;
	if (s->head == 0) {
		/* A singular slice: one element if present. */
		it->next = PBS_END;
		if (s->n == 0)
			return false;
		*p = s->p;
		*len = s->len;
		return true;
	}
	i = it->next != 0 ? it->next : s->head;
	/* An index past the fill level: the chain outlived a pbs_reset. */
	if (i > pbs_used)
		abort();
	e = &pbs_arena[i - 1];
	*p = e->e_p;
	*len = e->e_len;
	it->next = e->e_next != 0 ? e->e_next : PBS_END;
	return true;
}

int
pbs_copy(const struct pbs *s, char *dst, size_t cap)
{
	uint32_t len = s->n != 0 ? s->len : 0;

	if (cap == 0 || len > cap - 1)
		return -ENAMETOOLONG;
	if (len > 0 && memchr(s->p, '\0', len) != NULL)
		return -EINVAL;
	if (len > 0)
		memcpy(dst, s->p, len);
	dst[len] = '\0';
	return 0;
}

bool
pbs_eq(const struct pbs *s, const char *str)
{
	uint32_t len = s->n != 0 ? s->len : 0;
	size_t slen = strlen(str);

	return slen == len && (len == 0 || memcmp(s->p, str, len) == 0);
}

/* One occurrence of a length-delimited field: istream spans its bytes. */
static bool
pbs_take(pb_istream_t *is, const pb_field_t *field, struct pbs *s)
{
	const uint8_t *p = is->state;
	size_t len = is->bytes_left;
	uintptr_t a = (uintptr_t)p;

	if (pbs_in_hi == 0) {
		pbs_why = "pbs: decode only through pbs_decode";
		PB_RETURN_ERROR(is, pbs_why);
	}
	if (a < pbs_in_lo || a > pbs_in_hi || len > pbs_in_hi - a) {
		pbs_why = "wrong wire type for a length-delimited field";
		PB_RETURN_ERROR(is, pbs_why);
	}
	if (!pb_read(is, NULL, len))
		return false;
	if (PB_HTYPE(field->type) != PB_HTYPE_REPEATED) {
		/* proto3: a repeated occurrence of a singular field wins. */
		s->p = p;
		s->len = (uint32_t)len;
		s->n = 1;
		return true;
	}
	if (pbs_add(s, p, len) != 0) {
		pbs_full = true;
		pbs_why = PBS_ERR_FULL;
		PB_RETURN_ERROR(is, pbs_why);
	}
	return true;
}

/*
 * The whole field.  proto3 leaves empty singular strings and bytes off the
 * wire (as Go does); repeated elements go out even when empty.
 */
static bool
pbs_put(pb_ostream_t *os, const pb_field_t *field, const struct pbs *s)
{
	struct pbs_iter it = { 0 };
	const uint8_t *p;
	uint32_t len;

	if (PB_HTYPE(field->type) != PB_HTYPE_REPEATED) {
		if (s->n == 0 || s->len == 0)
			return true;
		return pb_encode_tag_for_field(os, field) &&
		    pb_encode_string(os, s->p, s->len);
	}
	while (pbs_next(s, &it, &p, &len)) {
		if (!pb_encode_tag_for_field(os, field) ||
		    !pb_encode_string(os, p, len))
			return false;
	}
	return true;
}

bool
pbs_field_cb(pb_istream_t *istream, pb_ostream_t *ostream,
    const pb_field_t *field)
{
	static const char notpbs[] = "pbs: field is not a struct pbs";

	/* Only fields declared with callback_datatype "struct pbs" get here. */
	if (field->data_size != sizeof(struct pbs)) {
		if (istream != NULL)
			PB_RETURN_ERROR(istream, notpbs);
		if (ostream != NULL)
			PB_RETURN_ERROR(ostream, notpbs);
		return false;
	}
	if (istream != NULL)
		return pbs_take(istream, field, field->pData);
	if (ostream != NULL)
		return pbs_put(ostream, field, field->pData);
	return true;
}

/*
 * Zero every member of a message.  pb_decode leaves callback fields alone,
 * and the descriptor does not record the struct's size, so find where its
 * last member ends (trailing padding needs no clearing).
 */
static void
pbs_clear(const pb_msgdesc_t *type, void *msg)
{
	pb_field_iter_t it;
	size_t end = 0, e;

	if (!pb_field_iter_begin(&it, type, msg))
		return;
	do {
		e = (size_t)((char *)it.pField - (char *)msg);
		if (PB_ATYPE(it.type) == PB_ATYPE_STATIC &&
		    PB_HTYPE(it.type) == PB_HTYPE_REPEATED)
			e += (size_t)it.data_size * it.array_size;
		else
			e += it.data_size;
		if (e > end)
			end = e;
	} while (pb_field_iter_next(&it));
	memset(msg, 0, end);
}

int
pbs_decode(const pb_msgdesc_t *type, void *dst, const void *buf,
    size_t len, const char **err)
{
	pb_istream_t is;
	uintptr_t lo = pbs_in_lo, hi = pbs_in_hi;
	uint32_t mark = pbs_used;
	bool ok;
	static const uint8_t none[1];

	if (buf == NULL && len > 0) {
		if (err != NULL)
			*err = "pbs: NULL buffer";
		return -EINVAL;
	}
	/* An empty message still needs a non-NULL buffer to bound slices. */
	if (buf == NULL)
		buf = none;
	pbs_clear(type, dst);
	is = pb_istream_from_buffer(buf, len);
	pbs_in_lo = (uintptr_t)buf;
	pbs_in_hi = pbs_in_lo + len;
	pbs_why = NULL;
	pbs_full = false;
	ok = pb_decode(&is, type, dst);
	pbs_in_lo = lo;
	pbs_in_hi = hi;
	if (ok)
		return 0;
	pbs_used = mark;
	if (err != NULL) {
		/*
		 * nanopb drops the callback's message when the field came with
		 * a scalar wire type; fall back to ours.  (We never build with
		 * PB_NO_ERRMSG.)
		 */
		*err = is.errmsg;
		if (*err == NULL)
			*err = pbs_why != NULL ? pbs_why : "decode failed";
	}
	return pbs_full ? -ENOSPC : -EBADMSG;
}

int
pbs_encode(const pb_msgdesc_t *type, const void *src, void *buf,
    size_t cap, size_t *len, const char **err)
{
	pb_ostream_t os = PB_OSTREAM_SIZING;
	size_t need;

	if (buf != NULL)
		os = pb_ostream_from_buffer(buf, cap);
	if (pb_encode(&os, type, src)) {
		*len = os.bytes_written;
		return 0;
	}
	if (err != NULL)
		*err = os.errmsg != NULL ? os.errmsg : "encode failed";
	if (buf != NULL && pb_get_encoded_size(&need, type, src) && need > cap)
		return -EMSGSIZE;
	return -EINVAL;
}

/*
 * pool - fixed storage, free lists, generation counters, handles.
 *
 * Owns: slots of one object type, reserved once at startup.  Does not own:
 * what the objects mean.  A handle packs (kind, generation, index) into 64
 * bits so it fits epoll_event.data.u64; a slot's generation changes every
 * time it is taken or given back, so a handle kept past a free (a parked
 * reply, an epoll event for an fd closed earlier in the same batch) no
 * longer resolves.
 *
 * Slots past the high-water mark were never used and are free without
 * being on the free list, so a pool of 16384 slots costs nothing until it
 * is used.  A free slot is reused before a new one is taken, so the first
 * slots are the busy ones: for small objects those sit, with their
 * bookkeeping, in a hot area shared with other pools (region_reserve_hot),
 * and a running shim touches one page for all of them.
 */
#ifndef NS_POOL_H
#define NS_POOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef uint64_t handle_t;
#define HANDLE_NONE ((handle_t)0)

struct pool_meta {
	uint32_t pm_gen;	/* odd while in use */
	uint32_t pm_next;	/* free-list link, index + 1 */
};

/*
 * Pools of objects up to POOL_HOT_BYTES keep their first slots (as many as
 * fit in half of that, at least one) in the hot area of the small-region
 * mapping (see region_reserve_hot), the rest elsewhere.
 */
#define POOL_HOT_BYTES	1024u

struct pool {
	const char *pl_name;	/* for "limit reached" messages */
	uint8_t pl_kind;
	size_t pl_size;		/* bytes per object */
	uint32_t pl_cap;	/* slots, set at startup */
	uint32_t pl_hwm;	/* slots ever handed out */
	uint32_t pl_used;
	uint32_t pl_free;	/* head of the free list, index + 1 */
	uint32_t pl_nhot;	/* slots 0 .. pl_nhot-1 live in the hot area */
	uint8_t *pl_hot;	/* ... here */
	uint8_t *pl_base;	/* slots pl_nhot and up */
	struct pool_meta *pl_hmeta;	/* bookkeeping, split the same way */
	struct pool_meta *pl_meta;
};

/* Slot i's storage and bookkeeping (i < pl_cap). */
static inline void *
pool_slot(const struct pool *pl, uint32_t i)
{
	if (i < pl->pl_nhot)
		return pl->pl_hot + (size_t)i * pl->pl_size;
	return pl->pl_base + (size_t)(i - pl->pl_nhot) * pl->pl_size;
}

static inline struct pool_meta *
pool_meta(const struct pool *pl, uint32_t i)
{
	return i < pl->pl_nhot ? &pl->pl_hmeta[i] :
	    &pl->pl_meta[i - pl->pl_nhot];
}

/*
 * Reserve storage for cap objects of size bytes (startup only; dies on
 * failure).  The memory is zero on first use.
 */
void pool_init(struct pool *pl, const char *name, uint8_t kind, size_t size,
    uint32_t cap);

/* Reserve len bytes of zeroed, untouched memory (startup only). */
void *region_reserve(size_t len);
/*
 * The same, for what is touched while a container runs: small ones are
 * packed together at one end of the shared mapping.
 */
void *region_reserve_hot(size_t len);
/* Give the pages of [p, p+len) back to the kernel; they read as zero. */
void region_release(void *p, size_t len);

/* Zero [p, p+len), handing whole pages back instead of writing them. */
void region_zero(void *p, size_t len);

/* Take a slot: its handle, or HANDLE_NONE when the pool is full. */
handle_t pool_take(struct pool *pl);
/* Give a slot back; its memory is zeroed and its old handles go stale. */
void pool_give(struct pool *pl, handle_t h);
/* The object of a live handle, or NULL if stale, foreign or none. */
void *pool_get(const struct pool *pl, handle_t h);
/* The handle of an object in the pool. */
handle_t pool_handle(const struct pool *pl, const void *obj);
/* Walk live slots: start with idx 0; returns NULL when done. */
void *pool_iter(const struct pool *pl, uint32_t *idx);

static inline uint8_t
handle_kind(handle_t h)
{
	return (uint8_t)(h >> 56);
}

static inline uint32_t
handle_index(handle_t h)
{
	return (uint32_t)h;
}

static inline handle_t
handle_make(uint8_t kind, uint32_t gen, uint32_t idx)
{
	return ((handle_t)kind << 56) | ((handle_t)(gen & 0xffffff) << 32) |
	    idx;
}

#endif

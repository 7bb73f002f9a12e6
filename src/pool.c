/*
 * pool - see pool.h.  Modelled on skalibs' genset: an index free list next
 * to the storage, plus a generation per slot.
 */
#include <string.h>
#include <sys/mman.h>

#include "layout.h"
#include "log.h"
#include "pool.h"

/*
 * Small reservations (free lists, generations, queues) share one mapping,
 * packed at cache-line alignment: each only touches its first bytes, and
 * apart they would each cost a page.
 */
#define REGION_SMALL	(64u << 10)
#define REGION_SMALL_ALL (2u << 20)

static uint8_t *region_small;
static size_t region_small_used;

NS_IDLE static void *
region_map(size_t len)
{
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE,
	    MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);

	if (p == MAP_FAILED)
		fatal("reserve %zu bytes", len);
	log_debug("region: %zu KiB at %p", len >> 10, p);
	return p;
}

NS_IDLE void *
region_reserve(size_t len)
{
	void *p;

	if (len == 0)
		return NULL;
	len = (len + 63) & ~(size_t)63;
	if (len > REGION_SMALL)
		return region_map(len);
	if (region_small == NULL ||
	    region_small_used + len > REGION_SMALL_ALL) {
		region_small = region_map(REGION_SMALL_ALL);
		region_small_used = 0;
	}
	p = region_small + region_small_used;
	region_small_used += len;
	return p;
}

NS_IDLE void
region_release(void *p, size_t len)
{
	uintptr_t a = (uintptr_t)p, pg = 4096;
	uintptr_t lo = (a + pg - 1) & ~(pg - 1);
	uintptr_t hi = (a + len) & ~(pg - 1);

	/* Only whole pages inside the range; the edges stay as they are. */
	if (hi > lo)
		madvise((void *)lo, hi - lo, MADV_DONTNEED);
}

NS_IDLE void
region_zero(void *p, size_t len)
{
	uintptr_t a = (uintptr_t)p, pg = 4096;
	uintptr_t lo = (a + pg - 1) & ~(pg - 1);
	uintptr_t hi = (a + len) & ~(pg - 1);

	if (hi <= lo || hi - lo < 2 * pg) {
		memset(p, 0, len);
		return;
	}
	/*
	 * Whole pages go back to the kernel instead of being written: a slot
	 * with large string areas then costs memory only while it is used.
	 */
	memset(p, 0, lo - a);
	madvise((void *)lo, hi - lo, MADV_DONTNEED);
	memset((void *)hi, 0, a + len - hi);
}

NS_IDLE void
pool_init(struct pool *pl, const char *name, uint8_t kind, size_t size,
    uint32_t cap)
{
	memset(pl, 0, sizeof(*pl));
	pl->pl_name = name;
	pl->pl_kind = kind;
	size_t meta = ((sizeof(uint32_t) * 2 * cap) + 63) & ~(size_t)63;
	uint8_t *r;

	pl->pl_size = (size + 15) & ~(size_t)15;
	pl->pl_cap = cap;
	/*
	 * Generations and free links first, the slots right after: the
	 * first slot and the bookkeeping then share the pool's first page.
	 */
	r = region_reserve(meta + pl->pl_size * cap);
	pl->pl_gen = (uint32_t *)r;
	pl->pl_next = pl->pl_gen + cap;
	pl->pl_base = r + meta;
}

NS_IDLE handle_t
pool_take(struct pool *pl)
{
	uint32_t i;

	if (pl->pl_free != 0) {
		i = pl->pl_free - 1;
		pl->pl_free = pl->pl_next[i];
	} else if (pl->pl_hwm < pl->pl_cap) {
		i = pl->pl_hwm++;
	} else {
		return HANDLE_NONE;
	}
	pl->pl_gen[i] = (pl->pl_gen[i] + 1) | 1;
	pl->pl_used++;
	return handle_make(pl->pl_kind, pl->pl_gen[i], i);
}

NS_IDLE void *
pool_get(const struct pool *pl, handle_t h)
{
	uint32_t i = handle_index(h);

	if (h == HANDLE_NONE || handle_kind(h) != pl->pl_kind ||
	    i >= pl->pl_hwm)
		return NULL;
	if ((pl->pl_gen[i] & 0xffffff) != ((h >> 32) & 0xffffff) ||
	    (pl->pl_gen[i] & 1) == 0)
		return NULL;
	return pl->pl_base + (size_t)i * pl->pl_size;
}

NS_IDLE void
pool_give(struct pool *pl, handle_t h)
{
	void *obj = pool_get(pl, h);
	uint32_t i = handle_index(h);

	if (obj == NULL)
		return;
	region_zero(obj, pl->pl_size);
	pl->pl_gen[i]++;
	pl->pl_next[i] = pl->pl_free;
	pl->pl_free = i + 1;
	pl->pl_used--;
}

NS_IDLE handle_t
pool_handle(const struct pool *pl, const void *obj)
{
	size_t off = (size_t)((const uint8_t *)obj - pl->pl_base);
	uint32_t i = (uint32_t)(off / pl->pl_size);

	return handle_make(pl->pl_kind, pl->pl_gen[i], i);
}

NS_IDLE void *
pool_iter(const struct pool *pl, uint32_t *idx)
{
	while (*idx < pl->pl_hwm) {
		uint32_t i = (*idx)++;

		if (pl->pl_gen[i] & 1)
			return pl->pl_base + (size_t)i * pl->pl_size;
	}
	return NULL;
}

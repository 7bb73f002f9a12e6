/*
 * pool - see pool.h.  Modelled on skalibs' genset: an index free list next
 * to the storage, plus a generation per slot.
 */
#include <stdbool.h>
#include <string.h>
#include <sys/mman.h>

#include "layout.h"
#include "log.h"
#include "pool.h"

/*
 * Small reservations (free lists, generations, queues) share one mapping,
 * packed at cache-line alignment: each only touches its first bytes, and
 * apart they would each cost a page.  The mapping is filled from both
 * ends: the hot end (bottom up) takes what a running shim touches all
 * the time -- the first slots of small pools, the heads of queues -- so
 * those share one or two pages; the cold end (top down) takes the rest.
 */
#define REGION_SMALL	(64u << 10)
#define REGION_SMALL_ALL (2u << 20)

static uint8_t *region_small;
static size_t region_hot_used, region_cold_used;

NS_IDLE static void *
region_map(size_t len)
{
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE,
	    MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);

	if (p == MAP_FAILED)
		fatal("reserve %zu bytes", len);
	/*
	 * Reserved, mostly never touched: with transparent huge pages set to
	 * "always" (Debian's kernels) the first write into an aligned 2 MiB
	 * stretch would map all of it.
	 */
	madvise(p, len, MADV_NOHUGEPAGE);
	log_debug("region: %zu KiB at %p", len >> 10, p);
	return p;
}

NS_IDLE static void *
region_take(size_t len, bool hot)
{
	void *p;

	if (len == 0)
		return NULL;
	len = (len + 63) & ~(size_t)63;
	if (len > REGION_SMALL)
		return region_map(len);
	if (region_small == NULL ||
	    region_hot_used + region_cold_used + len > REGION_SMALL_ALL) {
		region_small = region_map(REGION_SMALL_ALL);
		region_hot_used = region_cold_used = 0;
	}
	if (hot) {
		p = region_small + region_hot_used;
		region_hot_used += len;
	} else {
		region_cold_used += len;
		p = region_small + REGION_SMALL_ALL - region_cold_used;
	}
	return p;
}

NS_IDLE void *
region_reserve(size_t len)
{
	return region_take(len, false);
}

NS_IDLE void *
region_reserve_hot(size_t len)
{
	return region_take(len, true);
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
	uint32_t nhot, ncold;
	size_t hmeta, cmeta;
	uint8_t *r;

	memset(pl, 0, sizeof(*pl));
	pl->pl_name = name;
	pl->pl_kind = kind;
	pl->pl_size = (size + 15) & ~(size_t)15;
	pl->pl_cap = cap;
	/*
	 * The first slots are the ones in use almost all the time (a free
	 * slot is reused before a new one is taken), so those of a pool of
	 * small objects go to the hot area with their bookkeeping.  Large
	 * objects keep everything in their own reservation: bookkeeping
	 * first, then the slots, sharing the first page.
	 */
	nhot = 0;
	if (pl->pl_size <= POOL_HOT_BYTES) {
		nhot = (uint32_t)(POOL_HOT_BYTES / 2 / pl->pl_size);
		if (nhot == 0)
			nhot = 1;
	}
	if (nhot > cap)
		nhot = cap;
	ncold = cap - nhot;
	pl->pl_nhot = nhot;
	hmeta = (sizeof(struct pool_meta) * nhot + 15) & ~(size_t)15;
	if (nhot > 0) {
		r = region_reserve_hot(hmeta + pl->pl_size * nhot);
		pl->pl_hmeta = (struct pool_meta *)r;
		pl->pl_hot = r + hmeta;
	}
	cmeta = (sizeof(struct pool_meta) * ncold + 63) & ~(size_t)63;
	if (ncold > 0) {
		r = region_reserve(cmeta + pl->pl_size * ncold);
		pl->pl_meta = (struct pool_meta *)r;
		pl->pl_base = r + cmeta;
	}
}

NS_IDLE handle_t
pool_take(struct pool *pl)
{
	struct pool_meta *m;
	uint32_t i;

	if (pl->pl_free != 0) {
		i = pl->pl_free - 1;
		pl->pl_free = pool_meta(pl, i)->pm_next;
	} else if (pl->pl_hwm < pl->pl_cap) {
		i = pl->pl_hwm++;
	} else {
		return HANDLE_NONE;
	}
	m = pool_meta(pl, i);
	m->pm_gen = (m->pm_gen + 1) | 1;
	pl->pl_used++;
	return handle_make(pl->pl_kind, m->pm_gen, i);
}

NS_IDLE void *
pool_get(const struct pool *pl, handle_t h)
{
	uint32_t i = handle_index(h);
	const struct pool_meta *m;

	if (h == HANDLE_NONE || handle_kind(h) != pl->pl_kind ||
	    i >= pl->pl_hwm)
		return NULL;
	m = pool_meta(pl, i);
	if ((m->pm_gen & 0xffffff) != ((h >> 32) & 0xffffff) ||
	    (m->pm_gen & 1) == 0)
		return NULL;
	return pool_slot(pl, i);
}

NS_IDLE void
pool_give(struct pool *pl, handle_t h)
{
	void *obj = pool_get(pl, h);
	uint32_t i = handle_index(h);
	struct pool_meta *m;

	if (obj == NULL)
		return;
	region_zero(obj, pl->pl_size);
	m = pool_meta(pl, i);
	m->pm_gen++;
	m->pm_next = pl->pl_free;
	pl->pl_free = i + 1;
	pl->pl_used--;
}

NS_IDLE handle_t
pool_handle(const struct pool *pl, const void *obj)
{
	const uint8_t *o = obj;
	uint32_t i;

	if (pl->pl_nhot && o >= pl->pl_hot &&
	    o < pl->pl_hot + (size_t)pl->pl_nhot * pl->pl_size)
		i = (uint32_t)((size_t)(o - pl->pl_hot) / pl->pl_size);
	else
		i = pl->pl_nhot +
		    (uint32_t)((size_t)(o - pl->pl_base) / pl->pl_size);
	return handle_make(pl->pl_kind, pool_meta(pl, i)->pm_gen, i);
}

NS_IDLE void *
pool_iter(const struct pool *pl, uint32_t *idx)
{
	while (*idx < pl->pl_hwm) {
		uint32_t i = (*idx)++;

		if (pool_meta(pl, i)->pm_gen & 1)
			return pool_slot(pl, i);
	}
	return NULL;
}

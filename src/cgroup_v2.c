/*
 * cgroup_v2 - Stats on cgroup v2 (unified): the
 * io.containerd.cgroups.v2.Metrics message.
 *
 * Owns: reading cpu, memory, pids, io, rdma and hugetlb usage, memory
 * events, and the pressure (PSI) and peaks that cgroups v3 (containerd
 * 2.x) added.  A missing or unparsable file leaves its fields zero;
 * pids, cpu, memory, io and rdma are always present, memory_events when
 * memory.events had a line, as in Go.
 *
 * May call: the rest of cgroup (cgroup_impl.h), pbs.
 *
 * Mirrors containerd/cgroups v2/manager.go Stat with the helpers of
 * v2/utils.go (cgroups v3 for pressure and peaks).
 */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "layout.h"
#include "cgroup.h"
#include "cgroup_impl.h"
#include "cgroups/v2/metrics.pb.h"
#include "pbs.h"

io_containerd_cgroups_v2_Metrics cg_m2;

/* --- v2 ------------------------------------------------------------------ */

#define C2(f)	offsetof(io_containerd_cgroups_v2_CPUStat, f)
static const struct cg_key cg_v2_cpustat[] = {
	{ "usage_usec", C2(usage_usec) },
	{ "user_usec", C2(user_usec) },
	{ "system_usec", C2(system_usec) },
	{ "nr_periods", C2(nr_periods) },
	{ "nr_throttled", C2(nr_throttled) },
	{ "throttled_usec", C2(throttled_usec) },
};
#undef C2

/* The keys manager.go maps; others (kernel, zswap, ...) are dropped. */
#define M2(f)	offsetof(io_containerd_cgroups_v2_MemoryStat, f)
static const struct cg_key cg_v2_memstat[] = {
	{ "anon", M2(anon) },
	{ "file", M2(file) },
	{ "kernel_stack", M2(kernel_stack) },
	{ "slab", M2(slab) },
	{ "sock", M2(sock) },
	{ "shmem", M2(shmem) },
	{ "file_mapped", M2(file_mapped) },
	{ "file_dirty", M2(file_dirty) },
	{ "file_writeback", M2(file_writeback) },
	{ "anon_thp", M2(anon_thp) },
	{ "inactive_anon", M2(inactive_anon) },
	{ "active_anon", M2(active_anon) },
	{ "inactive_file", M2(inactive_file) },
	{ "active_file", M2(active_file) },
	{ "unevictable", M2(unevictable) },
	{ "slab_reclaimable", M2(slab_reclaimable) },
	{ "slab_unreclaimable", M2(slab_unreclaimable) },
	{ "pgfault", M2(pgfault) },
	{ "pgmajfault", M2(pgmajfault) },
	{ "workingset_refault", M2(workingset_refault) },
	{ "workingset_activate", M2(workingset_activate) },
	{ "workingset_nodereclaim", M2(workingset_nodereclaim) },
	{ "pgrefill", M2(pgrefill) },
	{ "pgscan", M2(pgscan) },
	{ "pgsteal", M2(pgsteal) },
	{ "pgactivate", M2(pgactivate) },
	{ "pgdeactivate", M2(pgdeactivate) },
	{ "pglazyfree", M2(pglazyfree) },
	{ "pglazyfreed", M2(pglazyfreed) },
	{ "thp_fault_alloc", M2(thp_fault_alloc) },
	{ "thp_collapse_alloc", M2(thp_collapse_alloc) },
};
#undef M2

#define EV(f)	offsetof(io_containerd_cgroups_v2_MemoryEvents, f)
static const struct cg_key cg_v2_events[] = {
	{ "low", EV(low) },
	{ "high", EV(high) },
	{ "max", EV(max) },
	{ "oom", EV(oom) },
	{ "oom_kill", EV(oom_kill) },
};
#undef EV

/* Is word w one of the space-separated words of list? */
NS_RARE static bool
cg_has_word(const char *list, size_t n, const char *w)
{
	const char *p = list, *end = list + n, *f;
	size_t fl;

	while (cg_field(&p, end, &f, &fl))
		if (cg_eq(f, fl, w))
			return true;
	return false;
}

/*
 * A decimal "123.45" as the nearest double, without strtod: the kernel
 * prints PSI averages with two decimals, and digits/10^k is one correctly
 * rounded division of exact values, so this is what Go's ParseFloat gives.
 * False for anything else (signs, exponents, more than 15 digits).
 */
static bool
cg_parse_decimal(const char *s, size_t n, double *v)
{
	uint64_t digits = 0, scale = 1;
	size_t i, nd = 0;
	bool dot = false;

	for (i = 0; i < n; i++) {
		if (s[i] == '.' && !dot) {
			dot = true;
			continue;
		}
		if (s[i] < '0' || s[i] > '9' || ++nd > 15)
			return false;
		digits = digits * 10 + (uint64_t)(s[i] - '0');
		if (dot)
			scale *= 10;
	}
	if (nd == 0)
		return false;
	*v = (double)digits / (double)scale;
	return true;
}

/*
 * cgroups v3 getStatPSIFromFile: <controller>.pressure holds a "some" and
 * (but for cpu on older kernels) a "full" line of avg10= avg60= avg300=
 * total=.  Without the file (no PSI in the kernel: EOPNOTSUPP) or with a
 * value that does not parse, the field stays unset, as in Go.
 */
static void
cg_v2_psi(int dfd, const char *name, bool *has,
    io_containerd_cgroups_v2_PSIStats *ps)
{
	ssize_t n = cg_read(dfd, name, cg_buf, CG_FILE_MAX);
	const char *p = cg_buf, *end, *l, *f, *eq;
	size_t ln, fl;

	if (n < 0)
		return;
	end = cg_buf + n;
	memset(ps, 0, sizeof(*ps));
	while (cg_line(&p, end, &l, &ln)) {
		const char *le = l + ln;
		io_containerd_cgroups_v2_PSIData *d;

		if (!cg_field(&l, le, &f, &fl))
			continue;
		if (cg_eq(f, fl, "some")) {
			ps->has_some = true;
			d = &ps->some;
		} else if (cg_eq(f, fl, "full")) {
			ps->has_full = true;
			d = &ps->full;
		} else {
			continue;
		}
		while (cg_field(&l, le, &f, &fl)) {
			bool ok = true;

			eq = memchr(f, '=', fl);
			if (eq == NULL)
				return;
			fl -= (size_t)(eq + 1 - f);
			if (eq - f == 5 && memcmp(f, "avg10", 5) == 0)
				ok = cg_parse_decimal(eq + 1, fl, &d->avg10);
			else if (eq - f == 5 && memcmp(f, "avg60", 5) == 0)
				ok = cg_parse_decimal(eq + 1, fl, &d->avg60);
			else if (eq - f == 6 && memcmp(f, "avg300", 6) == 0)
				ok = cg_parse_decimal(eq + 1, fl, &d->avg300);
			else if (eq - f == 5 && memcmp(f, "total", 5) == 0)
				ok = cg_parse_u64(eq + 1, fl, &d->total);
			if (!ok)
				return;
		}
	}
	*has = true;
}

/* v2/utils.go readIoStats: "maj:min rbytes=.. wbytes=.. rios=.. wios=..". */
NS_RARE static void
cg_v2_io(int dfd, io_containerd_cgroups_v2_Metrics *m)
{
	const char *p, *end, *l;
	size_t ln;
	ssize_t n;

	n = cg_read(dfd, "io.stat", cg_buf, CG_FILE_MAX);
	if (n < 0)
		return;
	p = cg_buf;
	end = cg_buf + n;
	while (cg_line(&p, end, &l, &ln) &&
	    m->io.usage_count < NELEM(m->io.usage)) {
		const char *q = l, *qe = l + ln, *sp, *colon, *kv;
		io_containerd_cgroups_v2_IOEntry *e;
		uint64_t maj, min, v;

		/* Go splits at single spaces; a line needs two parts. */
		sp = memchr(q, ' ', ln);
		if (sp == NULL)
			continue;
		colon = memchr(q, ':', (size_t)(sp - q));
		if (colon == NULL || memchr(colon + 1, ':', (size_t)(sp -
		    colon - 1)))
			continue;
		if (!cg_parse_u64(q, (size_t)(colon - q), &maj) ||
		    !cg_parse_u64(colon + 1, (size_t)(sp - colon - 1), &min))
			return;	/* Go gives up on the whole file */
		e = &m->io.usage[m->io.usage_count++];
		e->major = maj;
		e->minor = min;
		for (q = sp + 1; q < qe; q = kv < qe ? kv + 1 : qe) {
			const char *eq;
			size_t kl;

			kv = memchr(q, ' ', (size_t)(qe - q));
			if (kv == NULL)
				kv = qe;
			eq = memchr(q, '=', (size_t)(kv - q));
			if (eq == NULL || memchr(eq + 1, '=', (size_t)(kv -
			    eq - 1)) ||
			    !cg_parse_u64(eq + 1, (size_t)(kv - eq - 1), &v))
				continue;
			kl = (size_t)(eq - q);
			if (cg_eq(q, kl, "rbytes"))
				e->rbytes = v;
			else if (cg_eq(q, kl, "wbytes"))
				e->wbytes = v;
			else if (cg_eq(q, kl, "rios"))
				e->rios = v;
			else if (cg_eq(q, kl, "wios"))
				e->wios = v;
		}
	}
}

/* v2/utils.go readHugeTlbStats, over the page sizes found at startup. */
NS_RARE static void
cg_v2_hugetlb(int dfd, io_containerd_cgroups_v2_Metrics *m)
{
	static const char *const sfx[] = { "current", "max" };
	char name[64];
	uint32_t i, j;

	for (i = 0; i < cg_nhuge && m->hugetlb_count < NELEM(m->hugetlb);
	    i++) {
		io_containerd_cgroups_v2_HugeTlbStat *h =
		    &m->hugetlb[m->hugetlb_count];
		uint64_t *dst[] = { &h->current, &h->max };
		bool any = false;

		for (j = 0; j < NELEM(sfx); j++) {
			const char *s = cg_buf;
			ssize_t n;
			size_t len;

			snprintf(name, sizeof(name), "hugetlb.%s.%s",
			    cg_huge[i], sfx[j]);
			n = cg_read(dfd, name, cg_buf, CG_FILE_MAX);
			if (n < 0)
				continue;
			len = (size_t)n;
			cg_trim(&s, &len);
			if (cg_eq(s, len, "max"))
				*dst[j] = UINT64_MAX;
			else if (!cg_parse_u64(s, len, dst[j]))
				continue;
			any = true;
		}
		if (!any)
			continue;
		pbs_setstr(&h->pagesize, cg_huge[i]);
		m->hugetlb_count++;
	}
}

NS_RARE int
cg_metrics_v2(const struct cgroup_ref *ref)
{
	io_containerd_cgroups_v2_Metrics *m = &cg_m2;
	io_containerd_cgroups_v2_RdmaStat *rs = &m->rdma;
	NS_COLD static char ctls[1024];
	ssize_t nctl, nc, nl;
	int dfd;

	memset(m, 0, sizeof(*m));
	dfd = cg_open(ref, 0);
	if (dfd < 0)
		return dfd;
	/* manager.go Stat fails when cgroup.controllers cannot be read. */
	nctl = cg_read(dfd, "cgroup.controllers", ctls, sizeof(ctls));
	if (nctl < 0) {
		close(dfd);
		return (int)nctl;
	}
	m->has_pids = m->has_cpu = m->has_memory = m->has_io = m->has_rdma =
	    true;
	/* Only for enabled controllers: cpu.stat exists without "cpu". */
	if (cg_has_word(ctls, (size_t)nctl, "cpu"))
		cg_read_kv(dfd, "cpu.stat", cg_v2_cpustat,
		    NELEM(cg_v2_cpustat), &m->cpu);
	if (cg_has_word(ctls, (size_t)nctl, "memory"))
		cg_read_kv(dfd, "memory.stat", cg_v2_memstat,
		    NELEM(cg_v2_memstat), &m->memory);
	cg_read_max(dfd, "pids.current", UINT64_MAX, &m->pids.current);
	cg_read_max(dfd, "pids.max", UINT64_MAX, &m->pids.limit);
	cg_read_max(dfd, "memory.current", UINT64_MAX, &m->memory.usage);
	cg_read_max(dfd, "memory.max", UINT64_MAX, &m->memory.usage_limit);
	cg_read_max(dfd, "memory.swap.current", UINT64_MAX,
	    &m->memory.swap_usage);
	cg_read_max(dfd, "memory.swap.max", UINT64_MAX,
	    &m->memory.swap_limit);
	/* What cgroups v3 (containerd 2.x) added: peaks and pressure. */
	cg_read_max(dfd, "memory.peak", UINT64_MAX, &m->memory.max_usage);
	cg_read_max(dfd, "memory.swap.peak", UINT64_MAX,
	    &m->memory.swap_max_usage);
	cg_v2_psi(dfd, "cpu.pressure", &m->cpu.has_psi, &m->cpu.psi);
	cg_v2_psi(dfd, "memory.pressure", &m->memory.has_psi,
	    &m->memory.psi);
	if (cg_read_kv(dfd, "memory.events", cg_v2_events,
	    NELEM(cg_v2_events), &m->memory_events) > 0)
		m->has_memory_events = true;
	cg_v2_io(dfd, m);
	cg_v2_psi(dfd, "io.pressure", &m->io.has_psi, &m->io.psi);
	/* rdmaStats: each file on its own. */
	cg_rdma_read(dfd, &nc, &nl);
	CG_RDMA_FILL(rs->current, rs->current_count, cg_rdma_cur, nc);
	CG_RDMA_FILL(rs->limit, rs->limit_count, cg_rdma_lim, nl);
	cg_v2_hugetlb(dfd, m);
	close(dfd);
	return 0;
}

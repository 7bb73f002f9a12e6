/*
 * cgroup_v1 - Stats on cgroup v1 (legacy and hybrid): the
 * io.containerd.cgroups.v1.Metrics message.
 *
 * Owns: one reader per controller (pids, cpu, cpuacct, memory, blkio,
 * hugetlb, rdma), block device names from /proc/partitions, the blkio op
 * names.
 *
 * Where the Go readers stop at the first unreadable file of a controller
 * (and Stats(IgnoreNotExist) then keeps what was filled so far), we read
 * every file on its own: a missing or unparsable file leaves its fields
 * zero and never fails Stats.  Which sub-messages are present follows Go:
 * cpu always; memory and its four entries when the memory cgroup is
 * there.
 *
 * May call: the rest of cgroup (cgroup_impl.h), pbs.
 *
 * Mirrors containerd/cgroups' v1 Stat readers: pids.go cpu.go cpuacct.go
 * memory.go blkio.go hugetlb.go rdma.go.
 */
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "layout.h"
#include "cgroup.h"
#include "cgroup_impl.h"
#include "cgroups/v1/metrics.pb.h"
#include "pbs.h"

/* Block devices named from /proc/partitions (DISK_NAME_LEN is 32). */
#define CG_PARTS_MAX	256u
#define CG_DEVNAME_MAX	40u
/* Distinct blkio op names outside the usual six, per Stats call. */
#define CG_OPS_MAX	16u
#define CG_OPNAME_MAX	16u
/* USER_HZ: cpuacct.stat counts in it; Go hardcodes 100 (ticks.go). */
#define CG_USER_HZ	100u
struct cg_part {
	uint32_t p_major;
	uint32_t p_minor;
	char p_name[CG_DEVNAME_MAX];	/* "/dev/vda" */
};

static struct cg_part cg_parts[CG_PARTS_MAX];
static uint32_t cg_nparts;
static char cg_ops[CG_OPS_MAX][CG_OPNAME_MAX];
static uint32_t cg_nops;
io_containerd_cgroups_v1_Metrics cg_m1;
/* --- v1 readers ---------------------------------------------------------- */

#define M1(f)	offsetof(io_containerd_cgroups_v1_MemoryStat, f)
static const struct cg_key cg_v1_memstat[] = {
	{ "cache", M1(cache) },
	{ "rss", M1(rss) },
	{ "rss_huge", M1(rss_huge) },
	{ "mapped_file", M1(mapped_file) },
	{ "dirty", M1(dirty) },
	{ "writeback", M1(writeback) },
	{ "pgpgin", M1(pg_pg_in) },
	{ "pgpgout", M1(pg_pg_out) },
	{ "pgfault", M1(pg_fault) },
	{ "pgmajfault", M1(pg_maj_fault) },
	{ "inactive_anon", M1(inactive_anon) },
	{ "active_anon", M1(active_anon) },
	{ "inactive_file", M1(inactive_file) },
	{ "active_file", M1(active_file) },
	{ "unevictable", M1(unevictable) },
	{ "hierarchical_memory_limit", M1(hierarchical_memory_limit) },
	{ "hierarchical_memsw_limit", M1(hierarchical_swap_limit) },
	{ "total_cache", M1(total_cache) },
	{ "total_rss", M1(total_rss) },
	{ "total_rss_huge", M1(total_rss_huge) },
	{ "total_mapped_file", M1(total_mapped_file) },
	{ "total_dirty", M1(total_dirty) },
	{ "total_writeback", M1(total_writeback) },
	{ "total_pgpgin", M1(total_pg_pg_in) },
	{ "total_pgpgout", M1(total_pg_pg_out) },
	{ "total_pgfault", M1(total_pg_fault) },
	{ "total_pgmajfault", M1(total_pg_maj_fault) },
	{ "total_inactive_anon", M1(total_inactive_anon) },
	{ "total_active_anon", M1(total_active_anon) },
	{ "total_inactive_file", M1(total_inactive_file) },
	{ "total_active_file", M1(total_active_file) },
	{ "total_unevictable", M1(total_unevictable) },
};
#undef M1

#define OC(f)	offsetof(io_containerd_cgroups_v1_MemoryOomControl, f)
static const struct cg_key cg_v1_oomctl[] = {
	{ "oom_kill_disable", OC(oom_kill_disable) },
	{ "under_oom", OC(under_oom) },
	{ "oom_kill", OC(oom_kill) },
};
#undef OC

#define TH(f)	offsetof(io_containerd_cgroups_v1_Throttle, f)
static const struct cg_key cg_v1_cpustat[] = {
	{ "nr_periods", TH(periods) },
	{ "nr_throttled", TH(throttled_periods) },
	{ "throttled_time", TH(throttled_time) },
};
#undef TH

struct cg_ticks {
	uint64_t t_user;
	uint64_t t_system;
};

static const struct cg_key cg_v1_ticks[] = {
	{ "user", offsetof(struct cg_ticks, t_user) },
	{ "system", offsetof(struct cg_ticks, t_system) },
};

/* pids.go: both files or nothing; "max" is 0 on v1. */
NS_RARE static void
cg_v1_pids(int dfd, io_containerd_cgroups_v1_Metrics *m)
{
	uint64_t cur, max;

	if (cg_read_uint(dfd, "pids.current", &cur) < 0 ||
	    cg_read_max(dfd, "pids.max", 0, &max) < 0)
		return;
	m->has_pids = true;
	m->pids.current = cur;
	m->pids.limit = max;
}

/* cpu.go: throttling from cpu.stat. */
NS_RARE static void
cg_v1_cpu(int dfd, io_containerd_cgroups_v1_Metrics *m)
{
	cg_read_kv(dfd, "cpu.stat", cg_v1_cpustat, NELEM(cg_v1_cpustat),
	    &m->cpu.throttling);
}

/* cpuacct.go: usage total, per CPU, and user/system in USER_HZ ticks. */
NS_RARE static void
cg_v1_cpuacct(int dfd, io_containerd_cgroups_v1_Metrics *m)
{
	io_containerd_cgroups_v1_CPUUsage *u = &m->cpu.usage;
	struct cg_ticks t = { 0, 0 };
	const char *p, *end, *f;
	uint64_t v;
	size_t fl;
	ssize_t n;

	if (cg_read_kv(dfd, "cpuacct.stat", cg_v1_ticks,
	    NELEM(cg_v1_ticks), &t) >= 0) {
		/* Go: ticks * 1e9 / 100; the same for every value it fits. */
		u->user = t.t_user * (1000000000u / CG_USER_HZ);
		u->kernel = t.t_system * (1000000000u / CG_USER_HZ);
	}
	if (cg_read_uint(dfd, "cpuacct.usage", &v) == 0)
		u->total = v;
	n = cg_read(dfd, "cpuacct.usage_percpu", cg_buf, CG_FILE_MAX);
	if (n < 0)
		return;
	/* One value per possible CPU; past the array's bound they drop. */
	p = cg_buf;
	end = cg_buf + n;
	while (cg_field(&p, end, &f, &fl) && u->per_cpu_count <
	    NELEM(u->per_cpu)) {
		if (!cg_parse_u64(f, fl, &v))
			break;
		u->per_cpu[u->per_cpu_count++] = v;
	}
}

/* memory.go Stat. */
NS_RARE static void
cg_v1_memory(int dfd, io_containerd_cgroups_v1_Metrics *m)
{
	io_containerd_cgroups_v1_MemoryStat *ms = &m->memory;
	static const char *const files[] = { "usage_in_bytes",
		"max_usage_in_bytes", "failcnt", "limit_in_bytes" };
	struct {
		const char *pre;
		io_containerd_cgroups_v1_MemoryEntry *e;
	} ents[] = {
		{ "memory.", &ms->usage },
		{ "memory.memsw.", &ms->swap },
		{ "memory.kmem.", &ms->kernel },
		{ "memory.kmem.tcp.", &ms->kernel_tcp },
	};
	char name[64];
	size_t i, j;

	m->has_memory = true;
	ms->has_usage = ms->has_swap = ms->has_kernel = ms->has_kernel_tcp =
	    true;
	cg_read_kv(dfd, "memory.stat", cg_v1_memstat, NELEM(cg_v1_memstat),
	    ms);
	if (cg_read_kv(dfd, "memory.oom_control", cg_v1_oomctl,
	    NELEM(cg_v1_oomctl), &m->memory_oom_control) >= 0)
		m->has_memory_oom_control = true;
	/* Without swap accounting memory.memsw.* are absent: zeros. */
	for (i = 0; i < NELEM(ents); i++) {
		uint64_t *dst[] = { &ents[i].e->usage, &ents[i].e->max,
			&ents[i].e->failcnt, &ents[i].e->limit };

		for (j = 0; j < NELEM(files); j++) {
			snprintf(name, sizeof(name), "%s%s", ents[i].pre,
			    files[j]);
			cg_read_uint(dfd, name, dst[j]);
		}
	}
}

/* /proc/partitions -> "/dev/<name>" by major:minor (blkio.go getDevices). */
NS_RARE static void
cg_read_partitions(void)
{
	const char *p, *end, *l, *lp, *f[4];
	size_t ln, fl[4], i;
	uint64_t maj, min;
	ssize_t n;
	int line = 0;

	cg_nparts = 0;
	n = cg_read(AT_FDCWD, cg_partitions, cg_buf, CG_FILE_MAX);
	if (n < 0)
		return;
	p = cg_buf;
	end = cg_buf + n;
	while (cg_line(&p, end, &l, &ln) && cg_nparts < CG_PARTS_MAX) {
		if (line++ < 2)
			continue;	/* header and blank line */
		lp = l;
		for (i = 0; i < 4; i++)
			if (!cg_field(&lp, l + ln, &f[i], &fl[i]))
				break;
		if (i < 4 || !cg_parse_u64(f[0], fl[0], &maj) ||
		    !cg_parse_u64(f[1], fl[1], &min) || maj > UINT32_MAX ||
		    min > UINT32_MAX || fl[3] + 6 > CG_DEVNAME_MAX)
			continue;
		for (i = 0; i < cg_nparts; i++)
			if (cg_parts[i].p_major == maj &&
			    cg_parts[i].p_minor == min)
				break;
		if (i < cg_nparts)
			continue;
		cg_parts[cg_nparts].p_major = (uint32_t)maj;
		cg_parts[cg_nparts].p_minor = (uint32_t)min;
		memcpy(cg_parts[cg_nparts].p_name, "/dev/", 5);
		memcpy(cg_parts[cg_nparts].p_name + 5, f[3], fl[3]);
		cg_parts[cg_nparts].p_name[5 + fl[3]] = '\0';
		cg_nparts++;
	}
}

NS_RARE static const char *
cg_devname(uint64_t maj, uint64_t min)
{
	uint32_t i;

	for (i = 0; i < cg_nparts; i++)
		if (cg_parts[i].p_major == maj && cg_parts[i].p_minor == min)
			return cg_parts[i].p_name;
	return "";
}

/* Op names live past the read buffer: the usual ones are constants. */
NS_RARE static const char *
cg_opname(const char *s, size_t n)
{
	static const char *const known[] = { "Read", "Write", "Sync",
		"Async", "Discard", "Total" };
	uint32_t i;

	for (i = 0; i < NELEM(known); i++)
		if (cg_eq(s, n, known[i]))
			return known[i];
	for (i = 0; i < cg_nops; i++)
		if (cg_eq(s, n, cg_ops[i]))
			return cg_ops[i];
	if (cg_nops == CG_OPS_MAX || n >= CG_OPNAME_MAX)
		return "";
	memcpy(cg_ops[cg_nops], s, n);
	cg_ops[cg_nops][n] = '\0';
	return cg_ops[cg_nops++];
}

/*
 * blkio.<name>: "maj:min op value" or "maj:min value" lines, split at
 * spaces and colons (readEntry); the closing "Total N" is skipped.
 */
NS_RARE static void
cg_v1_blkio_file(int dfd, const char *name,
    io_containerd_cgroups_v1_BlkIOEntry *arr, pb_size_t *count, size_t cap)
{
	const char *p, *end, *l;
	char file[64];
	size_t ln;
	ssize_t n;

	snprintf(file, sizeof(file), "blkio.%s", name);
	n = cg_read(dfd, file, cg_buf, CG_FILE_MAX);
	if (n < 0)
		return;
	p = cg_buf;
	end = cg_buf + n;
	while (cg_line(&p, end, &l, &ln) && *count < cap) {
		const char *f[5], *q = l, *qe = l + ln;
		size_t fl[5], nf = 0;
		uint64_t maj, min, v;
		io_containerd_cgroups_v1_BlkIOEntry *e;

		while (nf < 5 && q < qe) {
			while (q < qe && (*q == ' ' || *q == ':'))
				q++;
			if (q == qe)
				break;
			f[nf] = q;
			while (q < qe && *q != ' ' && *q != ':')
				q++;
			fl[nf] = (size_t)(q - f[nf]);
			nf++;
		}
		if (nf < 3 || nf > 4)
			continue;
		if (!cg_parse_u64(f[0], fl[0], &maj) ||
		    !cg_parse_u64(f[1], fl[1], &min) ||
		    !cg_parse_u64(f[nf - 1], fl[nf - 1], &v))
			continue;
		e = &arr[(*count)++];
		e->major = maj;
		e->minor = min;
		e->value = v;
		if (nf == 4)
			pbs_setstr(&e->op, cg_opname(f[2], fl[2]));
		pbs_setstr(&e->device, cg_devname(maj, min));
	}
}

#define BLK(list)	b->list, &b->list##_count, NELEM(b->list)

/* blkio.go Stat: the CFQ-era *_recursive files, else throttle.*. */
NS_RARE static void
cg_v1_blkio(int dfd, io_containerd_cgroups_v1_Metrics *m)
{
	io_containerd_cgroups_v1_BlkIOStat *b = &m->blkio;
	struct stat st;

	m->has_blkio = true;
	cg_nops = 0;
	cg_read_partitions();
	if (fstatat(dfd, "blkio.io_serviced_recursive", &st,
	    AT_SYMLINK_NOFOLLOW) == 0) {
		cg_v1_blkio_file(dfd, "sectors_recursive",
		    BLK(sectors_recursive));
		cg_v1_blkio_file(dfd, "io_service_bytes_recursive",
		    BLK(io_service_bytes_recursive));
		cg_v1_blkio_file(dfd, "io_serviced_recursive",
		    BLK(io_serviced_recursive));
		cg_v1_blkio_file(dfd, "io_queued_recursive",
		    BLK(io_queued_recursive));
		cg_v1_blkio_file(dfd, "io_service_time_recursive",
		    BLK(io_service_time_recursive));
		cg_v1_blkio_file(dfd, "io_wait_time_recursive",
		    BLK(io_wait_time_recursive));
		cg_v1_blkio_file(dfd, "io_merged_recursive",
		    BLK(io_merged_recursive));
		cg_v1_blkio_file(dfd, "time_recursive", BLK(io_time_recursive));
	}
	if (b->sectors_recursive_count + b->io_service_bytes_recursive_count +
	    b->io_serviced_recursive_count + b->io_queued_recursive_count +
	    b->io_service_time_recursive_count +
	    b->io_wait_time_recursive_count + b->io_merged_recursive_count +
	    b->io_time_recursive_count > 0)
		return;
	/* Go reads the non-recursive throttle files here. */
	cg_v1_blkio_file(dfd, "throttle.io_serviced",
	    BLK(io_serviced_recursive));
	cg_v1_blkio_file(dfd, "throttle.io_service_bytes",
	    BLK(io_service_bytes_recursive));
}

#undef BLK

/* hugetlb.go: one entry per page size, in the order Go lists them. */
NS_RARE static void
cg_v1_hugetlb(int dfd, io_containerd_cgroups_v1_Metrics *m)
{
	char name[64];
	uint32_t i;

	for (i = 0; i < cg_nhuge && m->hugetlb_count < NELEM(m->hugetlb);
	    i++) {
		io_containerd_cgroups_v1_HugetlbStat *h =
		    &m->hugetlb[m->hugetlb_count];

		snprintf(name, sizeof(name), "hugetlb.%s.usage_in_bytes",
		    cg_huge[i]);
		if (cg_read_uint(dfd, name, &h->usage) < 0)
			continue;
		snprintf(name, sizeof(name), "hugetlb.%s.max_usage_in_bytes",
		    cg_huge[i]);
		cg_read_uint(dfd, name, &h->max);
		snprintf(name, sizeof(name), "hugetlb.%s.failcnt", cg_huge[i]);
		cg_read_uint(dfd, name, &h->failcnt);
		pbs_setstr(&h->pagesize, cg_huge[i]);
		m->hugetlb_count++;
	}
}

NS_RARE static size_t
cg_count_lines(const char *s, size_t n)
{
	size_t c = 1;

	while (n-- > 0)
		if (*s++ == '\n')
			c++;
	return c;
}

/* rdma.go: both files, with as many lines each, or nothing. */
NS_RARE static void
cg_v1_rdma(int dfd, io_containerd_cgroups_v1_Metrics *m)
{
	io_containerd_cgroups_v1_RdmaStat *rs = &m->rdma;
	ssize_t nc, nl;

	if (cg_rdma_read(dfd, &nc, &nl) < 0 ||
	    cg_count_lines(cg_rdma_cur, (size_t)nc) !=
	    cg_count_lines(cg_rdma_lim, (size_t)nl))
		return;
	m->has_rdma = true;
	CG_RDMA_FILL(rs->current, rs->current_count, cg_rdma_cur, nc);
	CG_RDMA_FILL(rs->limit, rs->limit_count, cg_rdma_lim, nl);
}

NS_RARE int
cg_metrics_v1(const struct cgroup_ref *ref)
{
	static const struct {
		enum cg_ctl ctl;
		void (*fn)(int, io_containerd_cgroups_v1_Metrics *);
	} staters[] = {
		{ CGC_HUGETLB, cg_v1_hugetlb },
		{ CGC_PIDS, cg_v1_pids },
		{ CGC_CPU, cg_v1_cpu },
		{ CGC_CPUACCT, cg_v1_cpuacct },
		{ CGC_MEMORY, cg_v1_memory },
		{ CGC_BLKIO, cg_v1_blkio },
		{ CGC_RDMA, cg_v1_rdma },
	};
	io_containerd_cgroups_v1_Metrics *m = &cg_m1;
	unsigned found = 0;
	size_t i;
	int dfd;

	memset(m, 0, sizeof(*m));
	/* cgroup.go Stat: the cpu message is always there. */
	m->has_cpu = m->cpu.has_usage = m->cpu.has_throttling = true;
	for (i = 0; i < NELEM(staters); i++) {
		dfd = cg_open(ref, staters[i].ctl);
		if (dfd < 0)
			continue;
		found++;
		staters[i].fn(dfd, m);
		close(dfd);
	}
	return found > 0 ? 0 : -ENOENT;
}

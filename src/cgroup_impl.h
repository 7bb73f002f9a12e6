/*
 * cgroup_impl.h - the inside of cgroup, shared by its files and no one
 * else.
 *
 * cgroup is one module in four files (cgroup.c, cgroup_read.c,
 * cgroup_v1.c, cgroup_v2.c); this header is what they share: the read
 * buffers and their readers and parsers (cgroup_read.c), the huge page
 * sizes and host paths found at startup (cgroup.c), and each version's
 * Metrics (cgroup_v1.c, cgroup_v2.c).  Only cgroup*.c include it
 * (tools/layers.py checks that); every other module sees cgroup.h.
 */
#ifndef NS_CGROUP_IMPL_H
#define NS_CGROUP_IMPL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "cgroup.h"
#include "cgroups/v1/metrics.pb.h"
#include "cgroups/v2/metrics.pb.h"

/*
 * One cgroup file.  The largest we read: cpuacct.usage_percpu, up to 21
 * bytes per possible CPU (1024 CPUs: 22 KiB), and v2 memory.stat (~2 KiB).
 * A file that does not fit is cut after its last complete field.
 */
#define CG_FILE_MAX	(64u << 10)
/* Huge page sizes: the bound of Metrics.hugetlb (proto/cgroups options). */
#define CG_HUGE_MAX	8u

#define NELEM(a)	(sizeof(a) / sizeof((a)[0]))

/* "key value" lines: where each known key's value goes. */
struct cg_key {
	const char *k_name;
	size_t k_off;
};

/* One rdma line: "mlx5_0 hca_handle=2 hca_object=2000" (toRdmaEntry). */
struct cg_rdma {
	const char *r_dev;
	size_t r_devlen;
	uint32_t r_handles;
	uint32_t r_objects;
};

/* v1 and v2 RdmaEntry are the same shape but not the same type. */
#define CG_RDMA_FILL(arr, count, buf, n) do {				\
	struct cg_rdma r_[NELEM(arr)];					\
	size_t k_ = cg_rdma_parse((buf), (n), r_, NELEM(arr)), i_;	\
									\
	for (i_ = 0; i_ < k_; i_++) {					\
		pbs_set(&(arr)[i_].device, r_[i_].r_dev,		\
		    r_[i_].r_devlen);					\
		(arr)[i_].hca_handles = r_[i_].r_handles;		\
		(arr)[i_].hca_objects = r_[i_].r_objects;		\
	}								\
	(count) = (pb_size_t)k_;					\
} while (0)

/* cgroup.c: found at startup. */
extern char cg_huge[CG_HUGE_MAX][16];	/* "2MB", sorted as Go lists */
extern uint32_t cg_nhuge;
extern const char *cg_partitions;

/* cgroup_read.c: the read buffers (scratch, see cg_scratch). */
extern char *cg_buf;
extern char *cg_path;
extern bool cg_truncated;	/* the last cg_read did not see EOF */
extern char cg_rdma_cur[], cg_rdma_lim[];

/* Every entry point takes the read buffers from scratch first. */
void cg_scratch(void);
bool cg_parse_u64(const char *s, size_t n, uint64_t *v);
void cg_trim(const char **s, size_t *n);
bool cg_eq(const char *s, size_t n, const char *lit);
bool cg_field(const char **p, const char *end, const char **f, size_t *n);
bool cg_line(const char **p, const char *end, const char **l, size_t *n);
ssize_t cg_read(int dfd, const char *name, char *buf, size_t cap);
int cg_read_uint(int dfd, const char *name, uint64_t *v);
int cg_read_max(int dfd, const char *name, uint64_t maxv, uint64_t *v);
int cg_read_kv(int dfd, const char *name, const struct cg_key *keys,
    size_t nkeys, void *base);
int cg_open(const struct cgroup_ref *ref, enum cg_ctl ctl);
size_t cg_rdma_parse(const char *buf, ssize_t n, struct cg_rdma *out,
    size_t cap);
int cg_rdma_read(int dfd, ssize_t *nc, ssize_t *nl);

/* cgroup_v1.c, cgroup_v2.c: fill cg_m1 / cg_m2 from ref; 0 or -errno. */
extern io_containerd_cgroups_v1_Metrics cg_m1;
extern io_containerd_cgroups_v2_Metrics cg_m2;
int cg_metrics_v1(const struct cgroup_ref *ref);
int cg_metrics_v2(const struct cgroup_ref *ref);

#endif

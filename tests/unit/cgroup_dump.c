/*
 * cgroup_dump - helper of cgroup_decode_check.sh: fill Metrics from a
 * fixture tree through cgroup_metrics and write the encoded message.
 *
 * usage: cgroup_dump root mountinfo hugepages partitions proc-cgroup out
 *
 * Prints the type URL on stdout; exits non-zero on any failure.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cgroup.h"
#include "pbs.h"

static char dump_text[16384];
static unsigned char dump_out[256u << 10];

int
main(int argc, char **argv)
{
	static struct cgroup_ref ref;
	const pb_msgdesc_t *fields;
	const void *msg;
	const char *url, *err = NULL;
	size_t len;
	ssize_t n;
	int fd, e;

	if (argc != 7) {
		fprintf(stderr, "usage: %s root mountinfo hugepages partitions "
		    "proc-cgroup out\n", argv[0]);
		return 2;
	}
	cgroup_set_host_paths(argv[3], argv[4]);
	cgroup_init_at(argv[1], argv[2]);
	fd = open(argv[5], O_RDONLY);
	if (fd < 0 || (n = read(fd, dump_text, sizeof(dump_text))) < 0) {
		perror(argv[5]);
		return 1;
	}
	close(fd);
	e = cgroup_parse_procfile(dump_text, (size_t)n, &ref);
	if (e < 0) {
		fprintf(stderr, "parse %s: %s\n", argv[5], strerror(-e));
		return 1;
	}
	e = cgroup_metrics(&ref, &fields, &msg, &url);
	if (e < 0) {
		fprintf(stderr, "metrics: %s\n", strerror(-e));
		return 1;
	}
	e = pbs_encode(fields, msg, dump_out, sizeof(dump_out), &len, &err);
	if (e < 0) {
		fprintf(stderr, "encode: %s\n", err ? err : strerror(-e));
		return 1;
	}
	fd = open(argv[6], O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0 || write(fd, dump_out, len) != (ssize_t)len) {
		perror(argv[6]);
		return 1;
	}
	close(fd);
	printf("%s\n", url);
	return 0;
}

/*
 * frame_dump - the frame capture hook of the NS_FRAME_DUMP build (make
 * fuzz-capture): every complete frame the shim serves is written, header
 * and body, to $NANOSHIM_FRAME_DUMP/<hash>.frame (one file per distinct
 * frame).  tests/fuzz/corpus.py turns the files into fuzz corpus inputs.
 * No allocation: open, write, close, like the shim.
 */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "ttrpc.h"

void ttrpc_frame_dump(uint32_t sid, uint8_t type, const uint8_t *body,
    uint32_t len);

void
ttrpc_frame_dump(uint32_t sid, uint8_t type, const uint8_t *body,
    uint32_t len)
{
	const char *dir = getenv("NANOSHIM_FRAME_DUMP");
	uint64_t h = 0xcbf29ce484222325ULL;
	uint8_t hdr[10];
	static char path[4200];
	int fd;

	if (dir == NULL || *dir == '\0')
		return;
	ttrpc_hdr_put(hdr, len, sid, type, 0);
	/* Stream ids differ between runs; the hash leaves them out. */
	for (uint32_t i = 0; i < len; i++)
		h = (h ^ body[i]) * 0x100000001b3ULL;
	h = (h ^ type) * 0x100000001b3ULL;
	snprintf(path, sizeof(path), "%s/%016llx.frame", dir,
	    (unsigned long long)h);
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (fd < 0)
		return;
	if (write(fd, hdr, sizeof(hdr)) == (ssize_t)sizeof(hdr) && len > 0 &&
	    write(fd, body, len) != (ssize_t)len)
		unlink(path);
	close(fd);
}

/*
 * layout - see layout.h.  The release link (tools/ld/idle-first.ld) puts
 * the NS_RARE code in .text.rare, page aligned, between ns_rare_start and
 * ns_rare_end; the default script's etext ends the code.
 */
#include <stdint.h>
#include <sys/mman.h>

#include "layout.h"

extern const char ns_rare_start[] __attribute__((weak));
extern const char etext[] __attribute__((weak));

NS_IDLE void
layout_fence(void)
{
	uintptr_t lo = (uintptr_t)ns_rare_start;
	uintptr_t hi = ((uintptr_t)etext + 4095) & ~(uintptr_t)4095;

	if (lo == 0 || hi == 0 || lo >= hi || (lo & 4095) != 0)
		return;
	/*
	 * Any flag that only matters to huge pages splits the mapping; then
	 * unmap what startup's fault-around brought in (clean file pages:
	 * they come back from the page cache if a rare call needs them).
	 */
	if (madvise((void *)lo, hi - lo, MADV_NOHUGEPAGE) == 0)
		madvise((void *)lo, hi - lo, MADV_DONTNEED);
}

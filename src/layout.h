/*
 * layout.h - where code goes in the release binary.
 *
 * NS_IDLE marks the functions an idle shim runs (startup and the empty
 * loop).  The release link (tools/ld/idle-first.ld) puts them, with the C
 * library, ahead of the rest of the code, so an idle shim maps one 64 KiB
 * window of text instead of all of it.  Only placement: behaviour is the
 * same with or without it.
 *
 * NS_RARE marks functions a shim with running containers does not run:
 * Stats, Pids, Update, Pause, Resume, Checkpoint, ResizePty, terminals
 * and logging binaries, the start action's hashing.  The release link puts
 * them at the end of the code, behind a fence (layout_fence), so the code
 * a lifecycle runs maps without them.
 *
 * NS_COLD marks zero-initialised static storage the serving shim never
 * touches while containers run (the start/delete actions, flag errors,
 * cgroup v2 stats).  It goes after the large data, so the small variables
 * a running shim does touch stay packed in as few pages as possible.
 *
 * NS_RODATA puts a constant table holding pointers in .rodata, where the
 * medium code model of the release build would otherwise give a big one a
 * writable large-data section.  Only there: a position-independent build
 * needs such a table writable at load time (.data.rel.ro).
 */
#ifndef NS_LAYOUT_H
#define NS_LAYOUT_H

#ifdef NS_LAYOUT
#define NS_IDLE __attribute__((section(".text.ns_idle")))
#define NS_RARE __attribute__((section(".ns_rare")))
#define NS_COLD __attribute__((section(".bss.ns_cold")))
#define NS_RODATA(name) __attribute__((section(".rodata." name)))
#else
#define NS_IDLE
#define NS_RARE
#define NS_COLD
#define NS_RODATA(name)
#endif

/*
 * The kernel maps a binary's text in 64 KiB windows around each page a
 * process runs (fault-around), windows that stop at a mapping's edge.
 * Make the rare code a mapping of its own, and drop what startup mapped
 * of it: running a lifecycle then maps none of it.  Startup only; a
 * no-op in builds without the release layout.
 */
void layout_fence(void);

#endif

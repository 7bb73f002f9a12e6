/*
 * layout.h - where code goes in the release binary.
 *
 * NS_IDLE marks the functions an idle shim runs (startup and the empty
 * loop).  The release link (tools/ld/idle-first.ld) puts them, with the C
 * library, ahead of the rest of the code, so an idle shim maps one 64 KiB
 * window of text instead of all of it.  Only placement: behaviour is the
 * same with or without it.
 *
 * NS_COLD marks zero-initialised static storage the serving shim never
 * touches while containers run (the start/delete actions, flag errors,
 * cgroup v2 stats).  It goes after the large data, so the small variables
 * a running shim does touch stay packed in as few pages as possible.
 */
#ifndef NS_LAYOUT_H
#define NS_LAYOUT_H

#ifdef NS_LAYOUT
#define NS_IDLE __attribute__((section(".text.ns_idle")))
#define NS_COLD __attribute__((section(".bss.ns_cold")))
#else
#define NS_IDLE
#define NS_COLD
#endif

#endif

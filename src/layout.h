/*
 * layout.h - where code goes in the release binary.
 *
 * NS_IDLE marks the functions an idle shim runs (startup and the empty
 * loop).  The release link (tools/ld/idle-first.ld) puts them, with the C
 * library, ahead of the rest of the code, so an idle shim maps one 64 KiB
 * window of text instead of all of it.  Only placement: behaviour is the
 * same with or without it.
 */
#ifndef NS_LAYOUT_H
#define NS_LAYOUT_H

#ifdef NS_LAYOUT
#define NS_IDLE __attribute__((section(".text.ns_idle")))
#else
#define NS_IDLE
#endif

#endif

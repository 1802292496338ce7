#ifndef C_PROCESS_TUNING_H
#define C_PROCESS_TUNING_H

/// Caps glibc's malloc arenas; a no-op where malloc has no arenas. Swift's Glibc module does
/// not export <malloc.h>, so this one call gets a header of its own.
int process_tuning_limit_malloc_arenas(int arenas);

#endif

#include "CProcessTuning.h"

#if defined(__GLIBC__)
#include <malloc.h>
int process_tuning_limit_malloc_arenas(int arenas) { return mallopt(M_ARENA_MAX, arenas); }
#else
int process_tuning_limit_malloc_arenas(int arenas) { (void)arenas; return 0; }
#endif

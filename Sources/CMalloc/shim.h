#ifndef SCIMD_CMALLOC_SHIM_H
#define SCIMD_CMALLOC_SHIM_H
// glibc's malloc extensions (malloc_trim), which Swift's Glibc module does not export.
#include <malloc.h>
#endif

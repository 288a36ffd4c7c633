#ifndef SCIMD_CPREFETCH_SHIM_H
#define SCIMD_CPREFETCH_SHIM_H
// The compiler's prefetch hint, which Swift does not expose: a scan over resources held in memory
// asks for the next ones' objects before it reaches them. A hint only: it never faults, whatever
// the address, and changes no result.
static inline void scimd_prefetch(const void *address) { __builtin_prefetch(address, 0, 3); }
#endif

#ifndef SCIMD_CSYSTEMD_SHIM_H
#define SCIMD_CSYSTEMD_SHIM_H
#include <systemd/sd-daemon.h>
#endif

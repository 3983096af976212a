// stdio.h for tools/cross_abi.py only (see string.h here). Not a libc.
#ifndef TDS_ABI_STUB_STDIO_H
#define TDS_ABI_STUB_STDIO_H
#include <stddef.h>
#ifdef __cplusplus
extern "C" {
#endif
int snprintf(char* buf, size_t n, const char* format, ...) __attribute__((format(printf, 3, 4)));
#ifdef __cplusplus
}
#endif
#endif

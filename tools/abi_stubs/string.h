// string.h for tools/cross_abi.py only: the few C library functions the shim calls, declared so
// that clang can check cpp/ for Windows and macOS targets without their SDKs. Not a libc.
#ifndef TDS_ABI_STUB_STRING_H
#define TDS_ABI_STUB_STRING_H
#include <stddef.h>
#ifdef __cplusplus
extern "C" {
#endif
void* memcpy(void* dst, const void* src, size_t n);
void* memset(void* dst, int c, size_t n);
size_t strlen(const char* s);
int strcmp(const char* a, const char* b);
#ifdef __cplusplus
}
#endif
#endif

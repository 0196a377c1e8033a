/*
 * The four functions GCC may call even in freestanding code (GCC manual,
 * "Standards": memcpy, memmove, memset and memcmp must be provided by the
 * environment). It emits them for large struct copies and initialisations,
 * e.g. config_defaults() on a struct config that holds the ACL table.
 * Simple loops: nothing on the packet path calls these.
 */
#include <stddef.h>
#include <stdint.h>

void *memset(void *dst, int c, size_t n)
{
    volatile uint8_t *d = dst;       /* volatile: don't let GCC turn this back into memset */
    for (size_t i = 0; i < n; i++)
        d[i] = (uint8_t)c;
    return dst;
}

void *memcpy(void *restrict dst, const void *restrict src, size_t n)
{
    volatile uint8_t *d = dst;
    const uint8_t *s = src;
    for (size_t i = 0; i < n; i++)
        d[i] = s[i];
    return dst;
}

void *memmove(void *dst, const void *src, size_t n)
{
    volatile uint8_t *d = dst;
    const uint8_t *s = src;
    if (d < s) {
        for (size_t i = 0; i < n; i++)
            d[i] = s[i];
    } else {
        for (size_t i = n; i > 0; i--)
            d[i - 1] = s[i - 1];
    }
    return dst;
}

int memcmp(const void *a, const void *b, size_t n)
{
    const uint8_t *x = a, *y = b;
    for (size_t i = 0; i < n; i++)
        if (x[i] != y[i])
            return x[i] < y[i] ? -1 : 1;
    return 0;
}

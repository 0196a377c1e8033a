/*
 * fmt: the printf engine of the image (and of anything in net/ that builds a
 * message, such as the config parser).
 *
 * The image has no libc, so this is its only formatter. It follows C99
 * printf for the subset pktmetal uses, and prints the two special cases the
 * way glibc does so host and image output read the same:
 *
 *   conversions   %d %i %u %x %X %c %s %p %%
 *   length        hh h l ll z j t   (%zu, %lld, %lx ...)
 *   flags         '-' left-justify, '0' zero-pad (sign first: -0042),
 *                 '+' and ' ' for signed conversions
 *   width         digits or '*' (a negative '*' width means '-')
 *   precision     digits or '*'; for %s the most bytes read, for integers
 *                 the fewest digits
 *   special       %p of NULL prints "(nil)", %s of NULL prints "(null)"
 *                 (cut by a precision), anything else after '%' is printed
 *                 literally ("%q" -> "%q")
 *
 * Output goes through a put callback in chunks (a literal run, a pad run, a
 * converted number), never a character at a time, so a slow sink such as the
 * serial port can write each chunk in one go.
 */
#ifndef PKTMETAL_NET_FMT_H
#define PKTMETAL_NET_FMT_H

#include <stdarg.h>
#include <stddef.h>

/* Receives n bytes of output; s is not NUL-terminated and may hold a '\0'
 * (from "%c" of 0). */
typedef void (*fmt_put_fn)(void *ctx, const char *s, size_t n);

/* Formats fmt with ap and hands the result to put. Returns the number of
 * characters produced (clamped to INT_MAX). */
int fmt_vformat(fmt_put_fn put, void *ctx, const char *fmt, va_list ap);

/* C99 vsnprintf: writes at most size - 1 characters and a NUL when size > 0,
 * returns the length the full output would have had. buf may be NULL when
 * size is 0. */
int fmt_vsnprintf(char *buf, size_t size, const char *fmt, va_list ap);

int fmt_snprintf(char *buf, size_t size, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif

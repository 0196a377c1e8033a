/*
 * Tests for net/fmt.c, the image's printf engine.
 *
 * Most tests format the same thing with fmt_snprintf and the host libc's
 * snprintf and demand identical text and return values: glibc is the
 * reference for everything fmt.h promises. The rest pin what libc cannot
 * check for us: truncation at small sizes, the put callback being fed in
 * chunks, and the literal printing of unknown conversions.
 */
#include <criterion/criterion.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "net/fmt.h"

/* Formats with both engines into 512-byte buffers and compares. */
#define EXPECT_LIKE_LIBC(...)                                                 \
    do {                                                                      \
        char want_[512], got_[512];                                           \
        int want_len_ = snprintf(want_, sizeof(want_), __VA_ARGS__);          \
        int got_len_ = fmt_snprintf(got_, sizeof(got_), __VA_ARGS__);         \
        cr_assert_str_eq(got_, want_, "for (%s)", #__VA_ARGS__);              \
        cr_assert_eq(got_len_, want_len_, "for (%s): returned %d, libc %d",   \
                     #__VA_ARGS__, got_len_, want_len_);                      \
    } while (0)

static const char *format_str(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* fmt_snprintf into a static buffer, for checks with a hand-written answer. */
static const char *format_str(const char *fmt, ...)
{
    static char buf[512];
    va_list ap;

    va_start(ap, fmt);
    fmt_vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    return buf;
}

/* Hides a NULL from the compiler so it does not warn about "%s" of NULL. */
static const char *opaque_null(void)
{
    static const char *volatile null_str;
    return null_str;
}

Test(fmt, plain_text_passes_through_unchanged)
{
    EXPECT_LIKE_LIBC("hello, world");
    EXPECT_LIKE_LIBC("%s", "");
    cr_assert_str_eq(format_str("%s", ""), "");
}

Test(fmt, signed_decimal_matches_libc)
{
    EXPECT_LIKE_LIBC("%d", 0);
    EXPECT_LIKE_LIBC("%d", 42);
    EXPECT_LIKE_LIBC("%d", -42);
    EXPECT_LIKE_LIBC("%i", 123456789);
    EXPECT_LIKE_LIBC("%i", -7);
    EXPECT_LIKE_LIBC("%d %d", INT_MAX, INT_MIN);
}

Test(fmt, int_min_prints_without_overflow)
{
    cr_assert_str_eq(format_str("%d", INT_MIN), "-2147483648");
    EXPECT_LIKE_LIBC("%015d", INT_MIN);
    EXPECT_LIKE_LIBC("%-15d|", INT_MIN);
}

Test(fmt, int64_extremes_match_libc)
{
    cr_assert_str_eq(format_str("%lld", (long long)INT64_MIN), "-9223372036854775808");
    EXPECT_LIKE_LIBC("%lld", (long long)INT64_MIN);
    EXPECT_LIKE_LIBC("%lld", (long long)INT64_MAX);
    EXPECT_LIKE_LIBC("%lli", (long long)INT64_MIN);
    EXPECT_LIKE_LIBC("%ld %li", (long)INT64_MIN, (long)INT64_MAX);
    EXPECT_LIKE_LIBC("%030lld", (long long)INT64_MIN);
}

Test(fmt, uint64_max_matches_libc_in_every_base)
{
    cr_assert_str_eq(format_str("%llu", (unsigned long long)UINT64_MAX), "18446744073709551615");
    EXPECT_LIKE_LIBC("%llu", (unsigned long long)UINT64_MAX);
    EXPECT_LIKE_LIBC("%llx", (unsigned long long)UINT64_MAX);
    EXPECT_LIKE_LIBC("%llX", (unsigned long long)UINT64_MAX);
    EXPECT_LIKE_LIBC("%lu %lx %lX", (unsigned long)UINT64_MAX, (unsigned long)UINT64_MAX,
                     (unsigned long)UINT64_MAX);
    EXPECT_LIKE_LIBC("%u %x %X", UINT_MAX, UINT_MAX, UINT_MAX);
}

Test(fmt, unsigned_and_hex_match_libc)
{
    EXPECT_LIKE_LIBC("%u", 0u);
    EXPECT_LIKE_LIBC("%u", 3000000000u);
    EXPECT_LIKE_LIBC("%x", 0u);
    EXPECT_LIKE_LIBC("%x", 0xdeadbeefu);
    EXPECT_LIKE_LIBC("%X", 0xdeadbeefu);
    EXPECT_LIKE_LIBC("%08x", 0x1a2bu);
    EXPECT_LIKE_LIBC("%lx", 0x123456789abcdefUL);
}

Test(fmt, size_t_conversions_match_libc)
{
    EXPECT_LIKE_LIBC("%zu", (size_t)0);
    EXPECT_LIKE_LIBC("%zu", SIZE_MAX);
    EXPECT_LIKE_LIBC("%zx", SIZE_MAX);
    EXPECT_LIKE_LIBC("%zd", (ssize_t)-1);
    EXPECT_LIKE_LIBC("%zd", (ssize_t)PTRDIFF_MIN);
    EXPECT_LIKE_LIBC("%zu bytes", sizeof(struct { char c[1500]; }));
}

Test(fmt, short_and_char_lengths_narrow_like_libc)
{
    EXPECT_LIKE_LIBC("%hd %hu", (short)-1234, (unsigned short)65535);
    EXPECT_LIKE_LIBC("%hhd %hhu %hhx", (signed char)-5, (unsigned char)200, (unsigned char)0xab);
    EXPECT_LIKE_LIBC("%jd %ju", (intmax_t)INT64_MIN, (uintmax_t)UINT64_MAX);
    EXPECT_LIKE_LIBC("%td", (ptrdiff_t)-99);
}

Test(fmt, zero_pad_negative_number_keeps_sign_first)
{
    cr_assert_str_eq(format_str("%05d", -42), "-0042");
    EXPECT_LIKE_LIBC("%05d", -42);
    EXPECT_LIKE_LIBC("%05d", 42);
    EXPECT_LIKE_LIBC("%01d", -42);
    EXPECT_LIKE_LIBC("%020lld", (long long)-1);
}

/* Deliberately odd flag mixes: the compiler warns, C defines the result. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat"

Test(fmt, zero_pad_is_ignored_when_left_justified)
{
    EXPECT_LIKE_LIBC("%-05d|", -42);
    EXPECT_LIKE_LIBC("%0-8x|", 0xabu);
}

#pragma GCC diagnostic pop

Test(fmt, width_pads_on_the_left_by_default)
{
    cr_assert_str_eq(format_str("[%6d]", 42), "[    42]");
    EXPECT_LIKE_LIBC("[%6d]", -42);
    EXPECT_LIKE_LIBC("[%10s]", "abc");
    EXPECT_LIKE_LIBC("[%3c]", 'z');
}

Test(fmt, left_justify_pads_on_the_right)
{
    cr_assert_str_eq(format_str("[%-6d]", 42), "[42    ]");
    EXPECT_LIKE_LIBC("[%-6d]", -42);
    EXPECT_LIKE_LIBC("[%-10s]", "abc");
    EXPECT_LIKE_LIBC("[%-3c]", 'z');
    EXPECT_LIKE_LIBC("[%-20p]", (void *)0x1234);
}

Test(fmt, width_narrower_than_value_never_truncates)
{
    EXPECT_LIKE_LIBC("%2d", 123456);
    EXPECT_LIKE_LIBC("%1s", "abcdef");
    EXPECT_LIKE_LIBC("%3llu", (unsigned long long)UINT64_MAX);
}

Test(fmt, wide_field_matches_libc)
{
    EXPECT_LIKE_LIBC("%300d", 7);
    EXPECT_LIKE_LIBC("%-300d|", 7);
    EXPECT_LIKE_LIBC("%0300d", -7);
}

Test(fmt, star_width_reads_an_int_argument)
{
    cr_assert_str_eq(format_str("[%*d]", 5, 42), "[   42]");
    EXPECT_LIKE_LIBC("[%*d]", 5, 42);
    EXPECT_LIKE_LIBC("[%0*d]", 6, -42);
    EXPECT_LIKE_LIBC("[%*s]", 8, "ab");
}

Test(fmt, negative_star_width_left_justifies)
{
    EXPECT_LIKE_LIBC("[%*d]", -5, 42);
    EXPECT_LIKE_LIBC("[%*s]", -8, "ab");
}

Test(fmt, string_precision_limits_bytes_read)
{
    /* Not NUL-terminated: reading past 4 bytes would be an ASan error. */
    char *unterminated = malloc(4);
    memcpy(unterminated, "abcd", 4);
    cr_assert_str_eq(format_str("%.4s", unterminated), "abcd");
    cr_assert_str_eq(format_str("%.*s", 2, unterminated), "ab");
    free(unterminated);

    EXPECT_LIKE_LIBC("%.5s", "abcdefgh");
    EXPECT_LIKE_LIBC("%.5s", "abc");
    EXPECT_LIKE_LIBC("%.0s|", "abc");
    EXPECT_LIKE_LIBC("[%8.3s]", "abcdef");
    EXPECT_LIKE_LIBC("[%-8.3s]", "abcdef");
}

Test(fmt, negative_star_precision_means_no_precision)
{
    EXPECT_LIKE_LIBC("%.*s", -1, "abcdef");
    EXPECT_LIKE_LIBC("%.*d", -1, 42);
}

Test(fmt, null_string_prints_null_like_glibc)
{
    cr_assert_str_eq(format_str("%s", opaque_null()), "(null)");
    EXPECT_LIKE_LIBC("%s", opaque_null());
    EXPECT_LIKE_LIBC("[%10s]", opaque_null());
    EXPECT_LIKE_LIBC("[%-10s]", opaque_null());
}

Test(fmt, pointer_prints_0x_and_lowercase_hex_like_glibc)
{
    cr_assert_str_eq(format_str("%p", (void *)0x1a2b), "0x1a2b");
    EXPECT_LIKE_LIBC("%p", (void *)0x1a2b);
    EXPECT_LIKE_LIBC("%p", (void *)UINTPTR_MAX);
    EXPECT_LIKE_LIBC("[%20p]", (void *)0xdeadbeef);
    int local;
    EXPECT_LIKE_LIBC("%p", (void *)&local);
}

Test(fmt, null_pointer_prints_nil_like_glibc)
{
    cr_assert_str_eq(format_str("%p", NULL), "(nil)");
    EXPECT_LIKE_LIBC("%p", (void *)NULL);
    EXPECT_LIKE_LIBC("[%8p]", (void *)NULL);
    EXPECT_LIKE_LIBC("[%-8p]", (void *)NULL);
}

Test(fmt, char_conversion_matches_libc)
{
    EXPECT_LIKE_LIBC("%c%c%c", 'a', 'b', 'c');
    EXPECT_LIKE_LIBC("%c", 255);
}

Test(fmt, char_conversion_of_zero_writes_a_nul_and_counts_it)
{
    char buf[8];
    memset(buf, 'x', sizeof(buf));
    int n = fmt_snprintf(buf, sizeof(buf), "a%cb", 0);
    cr_assert_eq(n, 3);
    cr_assert_eq(memcmp(buf, "a\0b\0", 4), 0);
}

Test(fmt, percent_percent_prints_one_percent)
{
    cr_assert_str_eq(format_str("100%%"), "100%");
    EXPECT_LIKE_LIBC("%d%% of %d", 50, 8);
}

/* Deliberately odd flag mixes: the compiler warns, C defines the result. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat"

Test(fmt, integer_precision_sets_minimum_digits_like_libc)
{
    EXPECT_LIKE_LIBC("%.5d", 42);
    EXPECT_LIKE_LIBC("%.5d", -42);
    EXPECT_LIKE_LIBC("%8.5d|", -42);
    EXPECT_LIKE_LIBC("%-8.5x|", 0xabu);
    EXPECT_LIKE_LIBC("%08.3d", 7);      /* precision turns '0' off */
    EXPECT_LIKE_LIBC("%.1d", 0);
}

#pragma GCC diagnostic pop

Test(fmt, zero_with_precision_zero_prints_no_digits_like_libc)
{
    EXPECT_LIKE_LIBC("[%.0d]", 0);
    EXPECT_LIKE_LIBC("[%5.0u]", 0u);
    EXPECT_LIKE_LIBC("[%.0x]", 1u);
}

/* Deliberately odd flag mixes: the compiler warns, C defines the result. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat"

Test(fmt, plus_and_space_flags_apply_to_signed_conversions_only)
{
    EXPECT_LIKE_LIBC("%+d %+d % d % d", 5, -5, 5, -5);
    EXPECT_LIKE_LIBC("%+ d % +d", 5, 5);
    EXPECT_LIKE_LIBC("%+05d", 5);
    EXPECT_LIKE_LIBC("%+lld", (long long)INT64_MAX);
}

#pragma GCC diagnostic pop

/* Every combination of a set of int64 formats with the edge values. */
Test(fmt, int64_format_and_value_sweep_matches_libc)
{
    static const char *const formats[] = {
        "%lld", "%25lld", "%-25lld|", "%025lld", "%.22lld", "%+lld", "% lld",
        "%llu", "%llx", "%llX", "%-25llx|", "%025llX", "%1lld",
    };
    static const long long values[] = {
        0, 1, -1, 9, 10, -10, INT_MIN, INT_MAX, INT64_MIN, INT64_MAX,
        (long long)0x8000000000000001ULL, 1000000007,
    };
    for (size_t f = 0; f < sizeof(formats) / sizeof(formats[0]); f++) {
        for (size_t v = 0; v < sizeof(values) / sizeof(values[0]); v++)
            EXPECT_LIKE_LIBC(formats[f], values[v]);
    }
}

Test(fmt, mixed_format_string_matches_libc)
{
    EXPECT_LIKE_LIBC("port %u: rx %llu tx %llu drop %zu (%s) @%p %-4d|%04X",
                     1u, 123456789012ULL, (unsigned long long)UINT64_MAX,
                     (size_t)17, "e1000", (void *)0xfee00000, -3, 0xbeefu);
}

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat"
#pragma GCC diagnostic ignored "-Wformat-extra-args"

Test(fmt, unknown_conversion_is_printed_literally)
{
    cr_assert_str_eq(format_str("%q"), "%q");
    cr_assert_str_eq(format_str("a%5qb"), "a%5qb");
    cr_assert_str_eq(format_str("%-08lq"), "%-08lq");
}

Test(fmt, unknown_conversion_consumes_no_argument)
{
    cr_assert_str_eq(format_str("%q %d", 7), "%q 7");
}

Test(fmt, trailing_lone_percent_is_printed)
{
    cr_assert_str_eq(format_str("50%"), "50%");
    cr_assert_str_eq(format_str("50%-5"), "50%-5");
}

#pragma GCC diagnostic pop

Test(fmt, size_zero_writes_nothing_and_returns_full_length)
{
    char buf[4] = "zzz";
    cr_assert_eq(fmt_snprintf(buf, 0, "hello %d", 42), 8);
    cr_assert_str_eq(buf, "zzz");
    cr_assert_eq(fmt_snprintf(NULL, 0, "hello %d", 42), 8);
}

Test(fmt, size_one_writes_only_the_terminator)
{
    char buf[4] = "zzz";
    cr_assert_eq(fmt_snprintf(buf, 1, "hello"), 5);
    cr_assert_eq(buf[0], '\0');
    cr_assert_eq(buf[1], 'z');
}

Test(fmt, exact_size_keeps_every_character)
{
    char buf[6];
    cr_assert_eq(fmt_snprintf(buf, sizeof(buf), "%05d", -42), 5);
    cr_assert_str_eq(buf, "-0042");
}

Test(fmt, one_byte_short_drops_the_last_character)
{
    char buf[5];
    cr_assert_eq(fmt_snprintf(buf, sizeof(buf), "%05d", -42), 5);
    cr_assert_str_eq(buf, "-004");
}

Test(fmt, truncation_matches_libc_at_every_size)
{
    const char *fmt = "[%-6s|%08llx|%p]";
    for (size_t size = 0; size < 40; size++) {
        char want[40], got[40];
        memset(want, '#', sizeof(want));
        memset(got, '#', sizeof(got));
        int want_len = snprintf(want, size, fmt, "ab", 0xc0ffeeULL, (void *)0x42);
        int got_len = fmt_snprintf(got, size, fmt, "ab", 0xc0ffeeULL, (void *)0x42);
        cr_assert_eq(got_len, want_len, "size %zu", size);
        cr_assert_eq(memcmp(got, want, sizeof(got)), 0, "size %zu", size);
    }
}

/* A put callback that records the output and how it arrived. */
struct recorder {
    char text[1024];
    size_t len;
    size_t nb_calls;
    size_t longest_call;
};

static void record_put(void *ctx, const char *s, size_t n)
{
    struct recorder *r = ctx;

    cr_assert(r->len + n <= sizeof(r->text));
    memcpy(r->text + r->len, s, n);
    r->len += n;
    r->nb_calls++;
    if (n > r->longest_call)
        r->longest_call = n;
}

static int record(struct recorder *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int record(struct recorder *r, const char *fmt, ...)
{
    va_list ap;

    memset(r, 0, sizeof(*r));
    va_start(ap, fmt);
    int n = fmt_vformat(record_put, r, fmt, ap);
    va_end(ap);
    return n;
}

Test(fmt, vformat_returns_count_and_delivers_all_output)
{
    struct recorder r;
    int n = record(&r, "rx %llu pkts on %s%c", 123ULL, "port0", '!');
    cr_assert_eq(n, 21);
    cr_assert_eq(r.len, 21);
    cr_assert_eq(memcmp(r.text, "rx 123 pkts on port0!", 21), 0);
}

Test(fmt, vformat_puts_literal_runs_in_one_call)
{
    struct recorder r;
    record(&r, "a long literal with no conversions");
    cr_assert_eq(r.nb_calls, 1);
    record(&r, "before %s after", "middle");
    cr_assert_eq(r.nb_calls, 3);
}

Test(fmt, vformat_puts_padding_in_chunks_not_per_char)
{
    struct recorder r;
    int n = record(&r, "%200d", 1);
    cr_assert_eq(n, 200);
    cr_assert_lt(r.nb_calls, 20);
    cr_assert_gt(r.longest_call, 1);
    record(&r, "%d", -1234567890);
    cr_assert_eq(r.nb_calls, 2);    /* the sign, then all the digits */
}

Test(fmt, vformat_with_empty_format_never_calls_put)
{
    struct recorder r;
    cr_assert_eq(record(&r, "%s", ""), 0);
    cr_assert_eq(r.nb_calls, 0);
}

static int forward_vsnprintf(char *buf, size_t size, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int forward_vsnprintf(char *buf, size_t size, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = fmt_vsnprintf(buf, size, fmt, ap);
    va_end(ap);
    return n;
}

Test(fmt, vsnprintf_formats_a_forwarded_va_list)
{
    char buf[32];
    cr_assert_eq(forward_vsnprintf(buf, sizeof(buf), "%d-%s", 3, "x"), 3);
    cr_assert_str_eq(buf, "3-x");
}

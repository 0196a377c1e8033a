/*
 * fmt: printf engine (see fmt.h for the supported subset).
 *
 * Each conversion is parsed into a struct fmt_spec, its argument is fetched
 * according to the length modifier, converted into a small stack buffer, and
 * written out as up to five chunks:
 *
 *   [spaces][sign or 0x][zeros][digits or text][spaces]
 *    right-              zero-pad              left-
 *    justify             or precision          justify
 *
 * Signed values are turned into a sign and an unsigned 64-bit magnitude
 * before any arithmetic (0 - (uint64_t)v), so INT64_MIN needs no special
 * case and negating it is never undefined.
 *
 * Freestanding: no libc, only the compiler's own headers.
 */
#include <stdbool.h>
#include <stdint.h>

#include "net/fmt.h"

#define FMT_INT_MAX ((int)(~0u >> 1))
#define FMT_PAD_CHUNK 16

enum fmt_length {
    FMT_LEN_INT,        /* no modifier */
    FMT_LEN_CHAR,       /* hh */
    FMT_LEN_SHORT,      /* h */
    FMT_LEN_LONG,       /* l */
    FMT_LEN_LLONG,      /* ll */
    FMT_LEN_SIZE,       /* z */
    FMT_LEN_MAX,        /* j */
    FMT_LEN_PTRDIFF,    /* t */
};

struct fmt_spec {
    bool left;          /* '-': pad on the right */
    bool zero;          /* '0': pad numbers with zeros after the sign */
    char plus;          /* '+' or ' ' before non-negative signed numbers, or 0 */
    int width;          /* minimum field width, 0 for none */
    int precision;      /* -1 for none */
    enum fmt_length length;
    char conv;          /* conversion character, '\0' at end of string */
};

/* The sink plus a running count of what went through it. */
struct fmt_out {
    fmt_put_fn put;
    void *ctx;
    size_t nb_chars;
};

static void out_write(struct fmt_out *out, const char *s, size_t n)
{
    if (n == 0)
        return;
    out->put(out->ctx, s, n);
    out->nb_chars += n;
}

/* Pads in chunks of FMT_PAD_CHUNK so a width of 200 is 13 calls, not 200. */
static void out_pad(struct fmt_out *out, char c, size_t n)
{
    static const char spaces[FMT_PAD_CHUNK] = "                ";
    static const char zeros[FMT_PAD_CHUNK] = "0000000000000000";
    const char *run = c == '0' ? zeros : spaces;

    while (n > 0) {
        size_t chunk = n < FMT_PAD_CHUNK ? n : FMT_PAD_CHUNK;
        out_write(out, run, chunk);
        n -= chunk;
    }
}

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

/* Reads a decimal field; saturates instead of overflowing on absurd widths. */
static const char *parse_decimal(const char *p, int *value)
{
    int v = 0;

    for (; is_digit(*p); p++)
        v = v > (FMT_INT_MAX - 9) / 10 ? FMT_INT_MAX : v * 10 + (*p - '0');
    *value = v;
    return p;
}

static const char *parse_flags(const char *p, struct fmt_spec *spec)
{
    for (;; p++) {
        if (*p == '-')
            spec->left = true;
        else if (*p == '0')
            spec->zero = true;
        else if (*p == '+')
            spec->plus = '+';
        else if (*p == ' ' && spec->plus != '+')
            spec->plus = ' ';
        else if (*p != ' ')
            return p;
    }
}

/* C99 7.19.6.1: a negative '*' width is a '-' flag and a positive width. */
static const char *parse_width(const char *p, struct fmt_spec *spec, va_list *ap)
{
    if (*p != '*')
        return parse_decimal(p, &spec->width);
    int w = va_arg(*ap, int);
    if (w < 0) {
        spec->left = true;
        w = w < -FMT_INT_MAX ? FMT_INT_MAX : -w;
    }
    spec->width = w;
    return p + 1;
}

/* A negative '*' precision counts as no precision at all. */
static const char *parse_precision(const char *p, struct fmt_spec *spec, va_list *ap)
{
    if (*p != '.')
        return p;
    p++;
    if (*p != '*')
        return parse_decimal(p, &spec->precision);
    int prec = va_arg(*ap, int);
    spec->precision = prec < 0 ? -1 : prec;
    return p + 1;
}

static const char *parse_length(const char *p, enum fmt_length *length)
{
    switch (*p) {
    case 'h':
        if (p[1] == 'h') {
            *length = FMT_LEN_CHAR;
            return p + 2;
        }
        *length = FMT_LEN_SHORT;
        return p + 1;
    case 'l':
        if (p[1] == 'l') {
            *length = FMT_LEN_LLONG;
            return p + 2;
        }
        *length = FMT_LEN_LONG;
        return p + 1;
    case 'z': *length = FMT_LEN_SIZE; return p + 1;
    case 'j': *length = FMT_LEN_MAX; return p + 1;
    case 't': *length = FMT_LEN_PTRDIFF; return p + 1;
    default:  *length = FMT_LEN_INT; return p;
    }
}

/* Parses what follows a '%' up to the conversion character; returns a
 * pointer to that character (the terminating NUL if the string ends). */
static const char *parse_spec(const char *p, struct fmt_spec *spec, va_list *ap)
{
    *spec = (struct fmt_spec){ .precision = -1 };
    p = parse_flags(p, spec);
    p = parse_width(p, spec, ap);
    p = parse_precision(p, spec, ap);
    p = parse_length(p, &spec->length);
    spec->conv = *p;
    return p;
}

static uint64_t fetch_unsigned(va_list *ap, enum fmt_length length)
{
    switch (length) {
    case FMT_LEN_CHAR:    return (unsigned char)va_arg(*ap, unsigned int);
    case FMT_LEN_SHORT:   return (unsigned short)va_arg(*ap, unsigned int);
    case FMT_LEN_LONG:    return va_arg(*ap, unsigned long);
    case FMT_LEN_LLONG:   return va_arg(*ap, unsigned long long);
    case FMT_LEN_SIZE:    return va_arg(*ap, size_t);
    case FMT_LEN_MAX:     return va_arg(*ap, uintmax_t);
    case FMT_LEN_PTRDIFF: return (uint64_t)va_arg(*ap, ptrdiff_t);
    default:              return va_arg(*ap, unsigned int);
    }
}

static int64_t fetch_signed(va_list *ap, enum fmt_length length)
{
    switch (length) {
    case FMT_LEN_CHAR:    return (signed char)va_arg(*ap, int);
    case FMT_LEN_SHORT:   return (short)va_arg(*ap, int);
    case FMT_LEN_LONG:    return va_arg(*ap, long);
    case FMT_LEN_LLONG:   return va_arg(*ap, long long);
    case FMT_LEN_SIZE:    return va_arg(*ap, ptrdiff_t); /* signed size_t */
    case FMT_LEN_MAX:     return va_arg(*ap, intmax_t);
    case FMT_LEN_PTRDIFF: return va_arg(*ap, ptrdiff_t);
    default:              return va_arg(*ap, int);
    }
}

/* Writes v in base 16 or 10 so that it ends just before end; returns the
 * number of digits (at least one). */
static size_t u64_to_digits(uint64_t v, unsigned base, bool upper, char *end)
{
    const char *digits = upper ? "0123456789ABCDEF" : "0123456789abcdef";
    size_t n = 0;

    do {
        *--end = digits[v % base];
        v /= base;
        n++;
    } while (v != 0);
    return n;
}

static size_t field_pad(const struct fmt_spec *spec, size_t body_len)
{
    size_t width = (size_t)spec->width;
    return width > body_len ? width - body_len : 0;
}

/* One integer: prefix is the sign and/or "0x", already decided. */
static void emit_integer(struct fmt_out *out, const struct fmt_spec *spec,
                         const char *prefix, size_t prefix_len,
                         uint64_t magnitude, unsigned base, bool upper)
{
    char buf[24];   /* 20 decimal digits of UINT64_MAX, with room to spare */
    size_t nb_digits = u64_to_digits(magnitude, base, upper, buf + sizeof(buf));
    size_t nb_zeros = 0;

    /* C99: a zero value with precision 0 prints no digits at all. */
    if (spec->precision == 0 && magnitude == 0)
        nb_digits = 0;
    if (spec->precision > 0 && (size_t)spec->precision > nb_digits)
        nb_zeros = (size_t)spec->precision - nb_digits;
    /* '0' is ignored with '-' or with a precision, as in C99. */
    if (spec->zero && !spec->left && spec->precision < 0)
        nb_zeros += field_pad(spec, prefix_len + nb_digits);

    size_t pad = field_pad(spec, prefix_len + nb_zeros + nb_digits);
    if (!spec->left)
        out_pad(out, ' ', pad);
    out_write(out, prefix, prefix_len);
    out_pad(out, '0', nb_zeros);
    out_write(out, buf + sizeof(buf) - nb_digits, nb_digits);
    if (spec->left)
        out_pad(out, ' ', pad);
}

/* Text (%s, %c, "(nil)"): width pads with spaces only. */
static void emit_text(struct fmt_out *out, const struct fmt_spec *spec,
                      const char *s, size_t len)
{
    size_t pad = field_pad(spec, len);

    if (!spec->left)
        out_pad(out, ' ', pad);
    out_write(out, s, len);
    if (spec->left)
        out_pad(out, ' ', pad);
}

static void conv_signed(struct fmt_out *out, const struct fmt_spec *spec, va_list *ap)
{
    int64_t v = fetch_signed(ap, spec->length);
    bool negative = v < 0;
    uint64_t magnitude = negative ? 0 - (uint64_t)v : (uint64_t)v;
    char sign = negative ? '-' : spec->plus;

    emit_integer(out, spec, &sign, sign ? 1 : 0, magnitude, 10, false);
}

static void conv_unsigned(struct fmt_out *out, const struct fmt_spec *spec, va_list *ap)
{
    uint64_t v = fetch_unsigned(ap, spec->length);
    unsigned base = spec->conv == 'u' ? 10 : 16;

    emit_integer(out, spec, "", 0, v, base, spec->conv == 'X');
}

static void conv_pointer(struct fmt_out *out, const struct fmt_spec *spec, va_list *ap)
{
    uintptr_t p = (uintptr_t)va_arg(*ap, void *);

    if (p == 0)
        emit_text(out, spec, "(nil)", 5);
    else
        emit_integer(out, spec, "0x", 2, p, 16, false);
}

/* Reads at most max bytes of s: with a precision, s need not be terminated. */
static size_t bounded_strlen(const char *s, size_t max)
{
    size_t n = 0;

    while (n < max && s[n] != '\0')
        n++;
    return n;
}

static void conv_string(struct fmt_out *out, const struct fmt_spec *spec, va_list *ap)
{
    const char *s = va_arg(*ap, const char *);
    size_t max = spec->precision < 0 ? (size_t)-1 : (size_t)spec->precision;

    if (s == NULL)
        s = "(null)";
    emit_text(out, spec, s, bounded_strlen(s, max));
}

static void conv_char(struct fmt_out *out, const struct fmt_spec *spec, va_list *ap)
{
    char c = (char)va_arg(*ap, int);

    emit_text(out, spec, &c, 1);
}

/* Formats the conversion starting at the '%' pct; returns where the literal
 * text after it begins. */
static const char *format_one(struct fmt_out *out, const char *pct, va_list *ap)
{
    struct fmt_spec spec;
    const char *conv = parse_spec(pct + 1, &spec, ap);

    switch (spec.conv) {
    case 'd': case 'i':       conv_signed(out, &spec, ap); break;
    case 'u': case 'x': case 'X': conv_unsigned(out, &spec, ap); break;
    case 'p':                 conv_pointer(out, &spec, ap); break;
    case 's':                 conv_string(out, &spec, ap); break;
    case 'c':                 conv_char(out, &spec, ap); break;
    case '%':                 out_write(out, "%", 1); break;
    case '\0':
        /* A lone '%' at the end: print what there is. */
        out_write(out, pct, (size_t)(conv - pct));
        return conv;
    default:
        /* Unknown conversion: print it as written, so the mistake shows. */
        out_write(out, pct, (size_t)(conv + 1 - pct));
        break;
    }
    return conv + 1;
}

int fmt_vformat(fmt_put_fn put, void *ctx, const char *fmt, va_list ap)
{
    struct fmt_out out = { .put = put, .ctx = ctx, .nb_chars = 0 };
    const char *p = fmt;
    va_list args;

    /* A copy, because va_list may be an array type and &ap of a parameter
     * would then not be a va_list *. */
    va_copy(args, ap);
    while (*p != '\0') {
        const char *literal = p;
        while (*p != '\0' && *p != '%')
            p++;
        out_write(&out, literal, (size_t)(p - literal));
        if (*p == '%')
            p = format_one(&out, p, &args);
    }
    va_end(args);
    return out.nb_chars > (size_t)FMT_INT_MAX ? FMT_INT_MAX : (int)out.nb_chars;
}

/* vsnprintf's sink: keeps what fits in size - 1 bytes, counts the rest. */
struct fmt_buf {
    char *buf;
    size_t size;
    size_t len;     /* characters produced so far, kept or not */
};

static void buf_put(void *ctx, const char *s, size_t n)
{
    struct fmt_buf *b = ctx;

    for (size_t i = 0; i < n; i++, b->len++) {
        if (b->len + 1 < b->size)
            b->buf[b->len] = s[i];
    }
}

int fmt_vsnprintf(char *buf, size_t size, const char *fmt, va_list ap)
{
    struct fmt_buf b = { .buf = buf, .size = size, .len = 0 };
    int ret = fmt_vformat(buf_put, &b, fmt, ap);

    if (size > 0)
        buf[b.len < size ? b.len : size - 1] = '\0';
    return ret;
}

int fmt_snprintf(char *buf, size_t size, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    int ret = fmt_vsnprintf(buf, size, fmt, ap);
    va_end(ap);
    return ret;
}

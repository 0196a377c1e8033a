/*
 * IPv4 and IPv6 addresses and prefixes as text (the API is net/inet.h).
 *
 * Parsing is strict on purpose: a config line that could mean two things is
 * refused rather than guessed at.
 *
 *   IPv4    exactly four decimal octets 0..255 separated by '.'. A leading
 *           zero ("01.2.3.4", "10.0.0.010") is refused: inet_aton() and
 *           many tools read it as octal, so "010" would be 8 there and 10
 *           here. "0" alone is fine. This is what glibc's inet_pton() does.
 *   IPv6    RFC 4291, 2.2: eight groups of 1..4 hex digits (either case), at
 *           most one "::" standing for one or more zero groups, and
 *           optionally a dotted quad (IPv4 rules above) as the last 32 bits.
 *           No zone ("%eth0"), no brackets.
 *   /LEN    decimal, no leading zero, 0..32 or 0..128. Both parts are
 *           required: a bare address is not a prefix.
 *
 * Formatting follows RFC 5952, 4: lowercase hex, no leading zeros in a
 * group, the longest run of two or more zero groups replaced by "::" (the
 * first such run on a tie), and (5.) an IPv4-mapped address ::ffff:0:0/96
 * written with its dotted quad, as glibc's inet_ntop() does.
 *
 * Freestanding: no libc.
 */
#include "net/inet.h"
#include "net/text.h"

#define IPV4_TEXT_MAX 15    /* 255.255.255.255 */
#define IPV6_GROUPS   8

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

/* Reads a decimal number of 1..max_digits digits at s[*pos], without a
 * leading zero unless it is "0" itself. Advances *pos past it. */
static bool parse_decimal(const char *s, size_t len, size_t *pos, unsigned max_digits,
                          unsigned *out)
{
    size_t start = *pos, i = *pos;
    unsigned v = 0;

    while (i < len && is_digit(s[i]) && i - start < max_digits)
        v = v * 10 + (unsigned)(s[i++] - '0');
    if (i == start || (i < len && is_digit(s[i])))
        return false;   /* no digit, or too many */
    if (s[start] == '0' && i - start > 1)
        return false;   /* leading zero: octal to some readers */
    *pos = i;
    *out = v;
    return true;
}

static bool parse_ipv4_text(const char *s, size_t len, uint32_t *addr)
{
    size_t pos = 0;
    uint32_t v = 0;

    if (len > IPV4_TEXT_MAX)
        return false;
    for (int octet = 0; octet < 4; octet++) {
        unsigned n;
        if (octet > 0) {
            if (pos >= len || s[pos] != '.')
                return false;
            pos++;
        }
        if (!parse_decimal(s, len, &pos, 3, &n) || n > 255)
            return false;
        v = v << 8 | n;
    }
    if (pos != len)
        return false;
    *addr = v;
    return true;
}

bool inet_parse_ipv4(const struct config_token *tok, uint32_t *addr)
{
    return parse_ipv4_text(tok->s, tok->len, addr);
}

/* Reads one piece of an IPv6 address starting at s[*pos]: either 1..4 hex
 * digits (one group) or, if the piece holds a '.', a dotted quad (two
 * groups, only allowed to end the text). Returns the groups stored. */
static int parse_ipv6_piece(const char *s, size_t len, size_t *pos, uint16_t *groups,
                            int room)
{
    size_t start = *pos, end = start;
    bool dotted = false;

    while (end < len && s[end] != ':') {
        if (s[end] == '.')
            dotted = true;
        end++;
    }
    if (dotted) {
        uint32_t v4;
        if (end != len || room < 2 || !parse_ipv4_text(s + start, end - start, &v4))
            return -1;
        groups[0] = (uint16_t)(v4 >> 16);
        groups[1] = (uint16_t)v4;
        *pos = end;
        return 2;
    }
    if (end == start || end - start > 4 || room < 1)
        return -1;
    unsigned v = 0;
    for (size_t i = start; i < end; i++) {
        int d = text_hex_digit(s[i]);
        if (d < 0)
            return -1;
        v = v << 4 | (unsigned)d;
    }
    groups[0] = (uint16_t)v;
    *pos = end;
    return 1;
}

/* Splits the text into the groups before and after "::" (gap = index of
 * the "::" in groups, or -1 when there is none). */
static bool parse_ipv6_groups(const char *s, size_t len, uint16_t groups[IPV6_GROUPS],
                              int *nb_groups, int *gap)
{
    size_t pos = 0;
    int nb = 0;

    *gap = -1;
    if (len >= 2 && s[0] == ':' && s[1] == ':') {
        *gap = 0;
        pos = 2;
    }
    while (pos < len) {
        int got = parse_ipv6_piece(s, len, &pos, groups + nb, IPV6_GROUPS - nb);
        if (got < 0)
            return false;
        nb += got;
        if (pos == len)
            break;
        pos++;                              /* the ':' after a group */
        if (pos < len && s[pos] == ':') {
            if (*gap >= 0)
                return false;               /* a second "::" */
            *gap = nb;
            pos++;
        } else if (pos == len) {
            return false;                   /* a single trailing ':' */
        }
    }
    *nb_groups = nb;
    /* "::" must stand for at least one group (RFC 4291, 2.2, 2.). */
    return *gap < 0 ? nb == IPV6_GROUPS : nb < IPV6_GROUPS;
}

static bool parse_ipv6_text(const char *s, size_t len, uint8_t addr[16])
{
    uint16_t groups[IPV6_GROUPS];
    int nb, gap;

    if (!parse_ipv6_groups(s, len, groups, &nb, &gap))
        return false;
    int nb_zero = IPV6_GROUPS - nb;         /* 0 when there is no "::" */
    for (int i = 0, src = 0; i < IPV6_GROUPS; i++) {
        bool in_gap = gap >= 0 && i >= gap && i < gap + nb_zero;
        uint16_t g = in_gap ? 0 : groups[src++];
        addr[2 * i] = (uint8_t)(g >> 8);
        addr[2 * i + 1] = (uint8_t)g;
    }
    return true;
}

bool inet_parse_ipv6(const struct config_token *tok, uint8_t addr[16])
{
    return parse_ipv6_text(tok->s, tok->len, addr);
}

/* Splits "ADDR/LEN" at its only '/' and reads LEN (0..max_len). */
static bool split_prefix(const struct config_token *tok, unsigned max_len,
                         size_t *addr_chars, uint8_t *len)
{
    size_t slash = 0;
    unsigned n;

    while (slash < tok->len && tok->s[slash] != '/')
        slash++;
    if (slash == tok->len)
        return false;
    size_t pos = slash + 1;
    if (!parse_decimal(tok->s, tok->len, &pos, 3, &n) || pos != tok->len || n > max_len)
        return false;
    *addr_chars = slash;
    *len = (uint8_t)n;
    return true;
}

bool inet_parse_prefix4(const struct config_token *tok, uint32_t *addr, uint8_t *len,
                        bool host_bits_ok)
{
    size_t addr_chars;
    uint32_t a;
    uint8_t l;

    if (!split_prefix(tok, 32, &addr_chars, &l) || !parse_ipv4_text(tok->s, addr_chars, &a))
        return false;
    if (!host_bits_ok && (a & ~inet_mask4(l)) != 0)
        return false;
    *addr = a;
    *len = l;
    return true;
}

/* True if any bit of addr at or after bit position len is set. */
static bool ipv6_has_host_bits(const uint8_t addr[16], unsigned len)
{
    for (unsigned i = len / 8; i < 16; i++) {
        unsigned keep = i == len / 8 ? len % 8 : 0;    /* leading bits that are network */
        uint8_t host_mask = (uint8_t)(0xffu >> keep);
        if (addr[i] & host_mask)
            return true;
    }
    return false;
}

bool inet_parse_prefix6(const struct config_token *tok, uint8_t addr[16], uint8_t *len,
                        bool host_bits_ok)
{
    size_t addr_chars;
    uint8_t a[16];
    uint8_t l;

    if (!split_prefix(tok, 128, &addr_chars, &l) || !parse_ipv6_text(tok->s, addr_chars, a))
        return false;
    if (!host_bits_ok && ipv6_has_host_bits(a, l))
        return false;
    for (int i = 0; i < 16; i++)
        addr[i] = a[i];
    *len = l;
    return true;
}

/* Appends v in decimal at p; returns the new end. */
static char *put_decimal(char *p, unsigned v)
{
    char digits[10];
    int n = 0;

    do {
        digits[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v != 0);
    while (n > 0)
        *p++ = digits[--n];
    return p;
}

/* Appends v in lowercase hex without leading zeros; returns the new end. */
static char *put_hex16(char *p, uint16_t v)
{
    static const char hex[] = "0123456789abcdef";
    bool started = false;

    for (int shift = 12; shift >= 0; shift -= 4) {
        unsigned d = (v >> shift) & 0xf;
        if (d != 0 || started || shift == 0) {
            *p++ = hex[d];
            started = true;
        }
    }
    return p;
}

static char *put_ipv4(char *p, uint32_t addr)
{
    for (int shift = 24; shift >= 0; shift -= 8) {
        p = put_decimal(p, (addr >> shift) & 0xff);
        if (shift != 0)
            *p++ = '.';
    }
    return p;
}

char *inet_fmt_ipv4(uint32_t addr, char *buf)
{
    *put_ipv4(buf, addr) = '\0';
    return buf;
}

/* The longest run of two or more zero groups, the first on a tie
 * (RFC 5952, 4.2.2 and 4.2.3); *run_len = 0 when there is none. */
static void longest_zero_run(const uint16_t groups[IPV6_GROUPS], int *run_start, int *run_len)
{
    *run_start = 0;
    *run_len = 0;
    for (int i = 0; i < IPV6_GROUPS;) {
        int j = i;
        while (j < IPV6_GROUPS && groups[j] == 0)
            j++;
        if (j - i >= 2 && j - i > *run_len) {
            *run_start = i;
            *run_len = j - i;
        }
        i = j == i ? i + 1 : j;
    }
}

static bool is_ipv4_mapped(const uint16_t groups[IPV6_GROUPS])
{
    for (int i = 0; i < 5; i++)
        if (groups[i] != 0)
            return false;
    return groups[5] == 0xffff;
}

char *inet_fmt_ipv6(const uint8_t addr[16], char *buf)
{
    uint16_t groups[IPV6_GROUPS];
    int run_start, run_len;
    char *p = buf;

    for (int i = 0; i < IPV6_GROUPS; i++)
        groups[i] = (uint16_t)(addr[2 * i] << 8 | addr[2 * i + 1]);
    if (is_ipv4_mapped(groups)) {
        static const char mapped[] = "::ffff:";
        for (int i = 0; mapped[i] != '\0'; i++)
            *p++ = mapped[i];
        uint32_t v4 = (uint32_t)groups[6] << 16 | groups[7];
        *put_ipv4(p, v4) = '\0';
        return buf;
    }
    longest_zero_run(groups, &run_start, &run_len);
    for (int i = 0; i < IPV6_GROUPS; i++) {
        if (run_len > 0 && i == run_start) {
            *p++ = ':';
            *p++ = ':';
            i += run_len - 1;
            continue;
        }
        if (i > 0 && !(run_len > 0 && i == run_start + run_len))
            *p++ = ':';
        p = put_hex16(p, groups[i]);
    }
    *p = '\0';
    return buf;
}

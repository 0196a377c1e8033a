/*
 * Tests for net/inet.c: IPv4/IPv6 addresses and prefixes as text.
 *
 * Hand-written cases pin every form inet.h accepts and every one it
 * refuses. Then glibc serves as a reference where it agrees with the
 * documented rules: inet_pton() for parsing (it also refuses leading zeros
 * in a dotted quad) over many generated strings, and inet_ntop() for RFC
 * 5952 formatting (except the deprecated "::a.b.c.d" form glibc still
 * prints for IPv4-compatible addresses, which RFC 5952 does not ask for).
 */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "net/inet.h"

static struct config_token tok(const char *s)
{
    return (struct config_token){s, strlen(s)};
}

static bool parse4(const char *s, uint32_t *addr)
{
    struct config_token t = tok(s);
    return inet_parse_ipv4(&t, addr);
}

static bool parse6(const char *s, uint8_t addr[16])
{
    struct config_token t = tok(s);
    return inet_parse_ipv6(&t, addr);
}

static bool parse_prefix4(const char *s, uint32_t *addr, uint8_t *len, bool host_bits_ok)
{
    struct config_token t = tok(s);
    return inet_parse_prefix4(&t, addr, len, host_bits_ok);
}

static bool parse_prefix6(const char *s, uint8_t addr[16], uint8_t *len, bool host_bits_ok)
{
    struct config_token t = tok(s);
    return inet_parse_prefix6(&t, addr, len, host_bits_ok);
}

static void expect_ipv4(const char *s, uint32_t want)
{
    uint32_t got = 0;
    cr_assert(parse4(s, &got), "\"%s\" refused", s);
    cr_assert_eq(got, want, "\"%s\": got 0x%08x, want 0x%08x", s, got, want);
}

static void expect_not_ipv4(const char *s)
{
    uint32_t got;
    cr_assert_not(parse4(s, &got), "\"%s\" accepted as IPv4", s);
}

/* want is written in the canonical form glibc parses identically. */
static void expect_ipv6(const char *s, const char *want_text)
{
    uint8_t got[16], want[16];
    cr_assert_eq(inet_pton(AF_INET6, want_text, want), 1);
    cr_assert(parse6(s, got), "\"%s\" refused", s);
    cr_assert_arr_eq(got, want, 16, "\"%s\" parsed differently from \"%s\"", s, want_text);
}

static void expect_not_ipv6(const char *s)
{
    uint8_t got[16];
    cr_assert_not(parse6(s, got), "\"%s\" accepted as IPv6", s);
}

static const char *fmt6(const char *text)
{
    static char buf[46];
    uint8_t a[16];
    cr_assert_eq(inet_pton(AF_INET6, text, a), 1, "test input \"%s\"", text);
    return inet_fmt_ipv6(a, buf);
}

/* --- IPv4 addresses ------------------------------------------------------- */

Test(inet, ipv4_parses_dotted_quad_into_host_order)
{
    expect_ipv4("192.168.1.2", 0xc0a80102u);
    expect_ipv4("0.0.0.0", 0);
    expect_ipv4("255.255.255.255", 0xffffffffu);
    expect_ipv4("10.0.0.1", 0x0a000001u);
}

Test(inet, ipv4_rejects_other_than_four_octets)
{
    expect_not_ipv4("1.2.3");
    expect_not_ipv4("1.2.3.4.5");
    expect_not_ipv4("1");
    expect_not_ipv4("");
    expect_not_ipv4("1..2.3");
    expect_not_ipv4(".1.2.3");
    expect_not_ipv4("1.2.3.");
    expect_not_ipv4("1.2.3.4.");
}

Test(inet, ipv4_rejects_octet_above_255)
{
    expect_not_ipv4("256.0.0.1");
    expect_not_ipv4("1.2.3.256");
    expect_not_ipv4("1.2.3.1000");
    expect_not_ipv4("1.2.3.99999999999");
}

Test(inet, ipv4_rejects_leading_zero_because_others_read_it_as_octal)
{
    expect_not_ipv4("01.2.3.4");
    expect_not_ipv4("1.2.3.00");
    expect_not_ipv4("10.0.0.010");
    expect_not_ipv4("000.0.0.0");
    expect_ipv4("0.0.0.0", 0);
    expect_ipv4("10.0.0.100", 0x0a000064u);
}

Test(inet, ipv4_rejects_signs_spaces_hex_and_letters)
{
    expect_not_ipv4("+1.2.3.4");
    expect_not_ipv4(" 1.2.3.4");
    expect_not_ipv4("1.2.3.4 ");
    expect_not_ipv4("1.2.3.-4");
    expect_not_ipv4("0x1.2.3.4");
    expect_not_ipv4("a.b.c.d");
    expect_not_ipv4("1.2.3.4/8");
    expect_not_ipv4("::1");
}

Test(inet, ipv4_reads_only_the_token_length_not_up_to_a_nul)
{
    struct config_token t = {"1.2.3.45 rest", 7};
    uint32_t a;
    cr_assert(inet_parse_ipv4(&t, &a));
    cr_assert_eq(a, 0x01020304u);
}

/* --- IPv4 prefixes -------------------------------------------------------- */

Test(inet, prefix4_parses_address_and_length)
{
    uint32_t a;
    uint8_t len;

    cr_assert(parse_prefix4("10.0.0.0/8", &a, &len, false));
    cr_assert_eq(a, 0x0a000000u);
    cr_assert_eq(len, 8);
    cr_assert(parse_prefix4("0.0.0.0/0", &a, &len, false));
    cr_assert_eq(len, 0);
    cr_assert(parse_prefix4("1.2.3.4/32", &a, &len, false));
    cr_assert_eq(a, 0x01020304u);
    cr_assert_eq(len, 32);
}

Test(inet, prefix4_rejects_length_out_of_range_or_malformed)
{
    uint32_t a;
    uint8_t len;
    const char *bad[] = {
        "10.0.0.0/33", "10.0.0.0/100", "10.0.0.0/", "10.0.0.0", "10.0.0.0/08",
        "10.0.0.0/-1", "10.0.0.0/8/8", "/8", "10.0.0.0/ 8", "10.0.0.0/8 ",
        "10.0.0/8", "10.0.0.0/1x", "::/0",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        cr_assert_not(parse_prefix4(bad[i], &a, &len, true), "\"%s\" accepted", bad[i]);
}

Test(inet, prefix4_rejects_host_bits_unless_allowed)
{
    uint32_t a;
    uint8_t len;

    cr_assert_not(parse_prefix4("10.0.0.1/8", &a, &len, false));
    cr_assert_not(parse_prefix4("10.128.0.0/8", &a, &len, false));
    cr_assert_not(parse_prefix4("0.0.0.1/0", &a, &len, false));
    cr_assert(parse_prefix4("10.0.0.1/8", &a, &len, true));
    cr_assert_eq(a, 0x0a000001u, "an interface address keeps its host part");
    cr_assert_eq(len, 8);
    cr_assert(parse_prefix4("10.1.2.3/32", &a, &len, false));
    cr_assert(parse_prefix4("10.128.0.0/9", &a, &len, false));
}

Test(inet, mask4_covers_the_top_len_bits)
{
    cr_assert_eq(inet_mask4(0), 0);
    cr_assert_eq(inet_mask4(1), 0x80000000u);
    cr_assert_eq(inet_mask4(24), 0xffffff00u);
    cr_assert_eq(inet_mask4(32), 0xffffffffu);
}

/* --- IPv6 addresses ------------------------------------------------------- */

Test(inet, ipv6_parses_full_and_compressed_forms)
{
    expect_ipv6("::", "::");
    expect_ipv6("::1", "::1");
    expect_ipv6("fe80::1", "fe80::1");
    expect_ipv6("2001:db8::", "2001:db8::");
    expect_ipv6("1:2:3:4:5:6:7:8", "1:2:3:4:5:6:7:8");
    expect_ipv6("2001:0db8:0000:0000:0000:0000:0000:0001", "2001:db8::1");
    expect_ipv6("1::8", "1:0:0:0:0:0:0:8");
    expect_ipv6("1:2:3::6:7:8", "1:2:3:0:0:6:7:8");
}

Test(inet, ipv6_double_colon_may_stand_for_a_single_group)
{
    /* RFC 5952 says not to write it so, RFC 4291 still allows reading it. */
    expect_ipv6("1:2:3:4:5:6:7::", "1:2:3:4:5:6:7:0");
    expect_ipv6("::2:3:4:5:6:7:8", "0:2:3:4:5:6:7:8");
    expect_ipv6("1:2:3::5:6:7:8", "1:2:3:0:5:6:7:8");
}

Test(inet, ipv6_accepts_uppercase_hex)
{
    expect_ipv6("FE80::ABCD", "fe80::abcd");
    expect_ipv6("2001:DB8:aBcD::F", "2001:db8:abcd::f");
}

Test(inet, ipv6_accepts_dotted_quad_in_the_last_32_bits)
{
    expect_ipv6("::ffff:1.2.3.4", "::ffff:102:304");
    expect_ipv6("::1.2.3.4", "::102:304");
    expect_ipv6("1:2:3:4:5:6:1.2.3.4", "1:2:3:4:5:6:102:304");
    expect_ipv6("64:ff9b::192.0.2.33", "64:ff9b::c000:221");
}

Test(inet, ipv6_rejects_wrong_group_counts)
{
    expect_not_ipv6("1:2:3:4:5:6:7:8:9");
    expect_not_ipv6("1:2:3:4:5:6:7");
    expect_not_ipv6("1:2:3:4:5:6:7:8::");
    expect_not_ipv6("::1:2:3:4:5:6:7:8");
    expect_not_ipv6("1:2:3:4::5:6:7:8");
    expect_not_ipv6("1:2:3:4:5:6:7:1.2.3.4");
    expect_not_ipv6("1:2:3:4:5:6::1.2.3.4");
    expect_not_ipv6("1:2:3:4:5:1.2.3.4");
}

Test(inet, ipv6_rejects_two_double_colons)
{
    expect_not_ipv6("1::2::3");
    expect_not_ipv6("::1::");
    expect_not_ipv6("::::");
}

Test(inet, ipv6_rejects_group_longer_than_four_hex_digits)
{
    expect_not_ipv6("12345::");
    expect_not_ipv6("::00001");
    expect_not_ipv6("1:2:3:4:5:6:7:abcde");
}

Test(inet, ipv6_rejects_stray_colons_and_characters)
{
    const char *bad[] = {
        "", ":", ":::", "1:", ":1", "1::2:", ":1::2", "1:::2", "g::", "::g",
        "1:2:3:4:5:6:7:8 ", " ::1", "fe80::1%eth0", "[::1]", "::1/128", "1.2.3.4",
        "::-1", "::+1", "0x1::",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        expect_not_ipv6(bad[i]);
}

Test(inet, ipv6_rejects_bad_embedded_dotted_quad)
{
    expect_not_ipv6("::1.2.3");
    expect_not_ipv6("::1.2.3.4.5");
    expect_not_ipv6("::256.2.3.4");
    expect_not_ipv6("::01.2.3.4");
    expect_not_ipv6("::1.2.3.4:5");
    expect_not_ipv6("::1.2.3.4::");
    expect_not_ipv6("::a.2.3.4");
    expect_not_ipv6("1.2.3.4::");
}

/* --- IPv6 prefixes -------------------------------------------------------- */

Test(inet, prefix6_parses_address_and_length)
{
    uint8_t a[16], want[16];
    uint8_t len;

    cr_assert(parse_prefix6("2001:db8::/32", a, &len, false));
    inet_pton(AF_INET6, "2001:db8::", want);
    cr_assert_arr_eq(a, want, 16);
    cr_assert_eq(len, 32);
    cr_assert(parse_prefix6("::/0", a, &len, false));
    cr_assert_eq(len, 0);
    cr_assert(parse_prefix6("::1/128", a, &len, false));
    cr_assert_eq(len, 128);
    cr_assert(parse_prefix6("2001:db8:8000::/33", a, &len, false));
    cr_assert_eq(len, 33);
}

Test(inet, prefix6_rejects_length_out_of_range_or_malformed)
{
    uint8_t a[16];
    uint8_t len;
    const char *bad[] = {
        "::/129", "::/1000", "2001:db8::/", "2001:db8::", "2001:db8::/032", "/64",
        "2001:db8::/64/64", "2001:db8/32", "10.0.0.0/8", "::/-0",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        cr_assert_not(parse_prefix6(bad[i], a, &len, true), "\"%s\" accepted", bad[i]);
}

Test(inet, prefix6_rejects_host_bits_unless_allowed)
{
    uint8_t a[16], want[16];
    uint8_t len;

    cr_assert_not(parse_prefix6("2001:db8::1/32", a, &len, false));
    cr_assert_not(parse_prefix6("2001:db8:8000::/32", a, &len, false));
    cr_assert_not(parse_prefix6("::1/127", a, &len, false));
    cr_assert_not(parse_prefix6("0:0:0:1::/63", a, &len, false));
    cr_assert(parse_prefix6("0:0:0:1::/64", a, &len, false));
    cr_assert(parse_prefix6("::1/128", a, &len, false));
    cr_assert(parse_prefix6("2001:db8::1/32", a, &len, true));
    inet_pton(AF_INET6, "2001:db8::1", want);
    cr_assert_arr_eq(a, want, 16, "an interface address keeps its host part");
}

/* --- formatting ----------------------------------------------------------- */

Test(inet, fmt_ipv4_writes_dotted_quad)
{
    char buf[16];

    cr_assert_str_eq(inet_fmt_ipv4(0xc0a80102u, buf), "192.168.1.2");
    cr_assert_str_eq(inet_fmt_ipv4(0, buf), "0.0.0.0");
    cr_assert_str_eq(inet_fmt_ipv4(0xffffffffu, buf), "255.255.255.255");
    cr_assert_eq(inet_fmt_ipv4(0x0a000001u, buf), buf);
}

Test(inet, fmt_ipv6_is_lowercase_without_leading_zeros)
{
    cr_assert_str_eq(fmt6("2001:0DB8:00AB:000C:1:2:3:4"), "2001:db8:ab:c:1:2:3:4");
}

Test(inet, fmt_ipv6_compresses_the_longest_zero_run)
{
    cr_assert_str_eq(fmt6("2001:db8:0:0:0:0:0:1"), "2001:db8::1");
    cr_assert_str_eq(fmt6("2001:0:0:1:0:0:0:1"), "2001:0:0:1::1");
    cr_assert_str_eq(fmt6("0:0:0:0:0:0:0:0"), "::");
    cr_assert_str_eq(fmt6("0:0:0:0:0:0:0:1"), "::1");
    cr_assert_str_eq(fmt6("1:0:0:0:0:0:0:0"), "1::");
    cr_assert_str_eq(fmt6("fe80:0:0:0:0:0:0:1"), "fe80::1");
}

Test(inet, fmt_ipv6_compresses_the_first_run_on_a_tie)
{
    cr_assert_str_eq(fmt6("2001:db8:0:0:1:0:0:1"), "2001:db8::1:0:0:1");
    cr_assert_str_eq(fmt6("0:0:1:1:1:1:0:0"), "::1:1:1:1:0:0");
}

Test(inet, fmt_ipv6_never_compresses_a_single_zero_group)
{
    cr_assert_str_eq(fmt6("2001:db8:0:1:1:1:1:1"), "2001:db8:0:1:1:1:1:1");
    cr_assert_str_eq(fmt6("0:1:0:1:0:1:0:1"), "0:1:0:1:0:1:0:1");
}

Test(inet, fmt_ipv6_writes_ipv4_mapped_with_dotted_quad)
{
    cr_assert_str_eq(fmt6("::ffff:1.2.3.4"), "::ffff:1.2.3.4");
    cr_assert_str_eq(fmt6("::ffff:0.0.0.0"), "::ffff:0.0.0.0");
    /* only ::ffff:0:0/96: the deprecated IPv4-compatible form stays hex */
    cr_assert_str_eq(fmt6("::1.2.3.4"), "::102:304");
    cr_assert_str_eq(fmt6("::fffe:1.2.3.4"), "::fffe:102:304");
}

Test(inet, fmt_ipv6_longest_text_fits_46_bytes)
{
    char buf[46];
    uint8_t a[16];

    memset(a, 0xff, sizeof(a));
    cr_assert_str_eq(inet_fmt_ipv6(a, buf), "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff");
    inet_pton(AF_INET6, "::ffff:255.255.255.255", a);
    cr_assert_str_eq(inet_fmt_ipv6(a, buf), "::ffff:255.255.255.255");
}

/* --- against glibc -------------------------------------------------------- */

static uint64_t rng_state;

static uint64_t rng_next(void)    /* splitmix64: fixed seed, same run each time */
{
    uint64_t z = (rng_state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static unsigned rng_below(unsigned n)
{
    return (unsigned)(rng_next() % n);
}

/* A group as people write it, and sometimes as they should not. */
static int random_group(char *out)
{
    static const char *const groups[] = {"0", "1", "ffff", "db8", "0db8", "ABCD", "00000",
                                         "12345", "g", "", "fe80", "0000"};
    if (rng_below(3) == 0)
        return sprintf(out, "%x", rng_below(0x10000));
    return sprintf(out, "%s", groups[rng_below(sizeof(groups) / sizeof(groups[0]))]);
}

static int random_quad(char *out)
{
    static const char *const octets[] = {"0", "1", "255", "256", "01", "10", "", "192"};
    int n = 0;
    int nb = 3 + (int)rng_below(3);     /* 3..5 octets, mostly 4 */
    if (rng_below(4) != 0)
        nb = 4;
    for (int i = 0; i < nb; i++)
        n += sprintf(out + n, "%s%s", i ? "." : "", octets[rng_below(8)]);
    return n;
}

/* Strings near the IPv6 grammar: pieces joined by ':' or "::", sometimes a
 * dotted quad, sometimes junk. */
static void random_ipv6_text(char *out)
{
    int n = 0;
    int nb_pieces = (int)rng_below(10);
    bool used_gap = false;

    out[0] = '\0';     /* no pieces at all is one of the cases */
    if (rng_below(4) == 0) {
        n += sprintf(out + n, "::");
        used_gap = true;
    }
    for (int i = 0; i < nb_pieces; i++) {
        if (i > 0) {
            bool gap = rng_below(used_gap ? 12 : 5) == 0;
            n += sprintf(out + n, gap ? "::" : ":");
            used_gap |= gap;
        }
        n += (i == nb_pieces - 1 && rng_below(4) == 0) ? random_quad(out + n)
                                                        : random_group(out + n);
    }
    if (rng_below(10) == 0)
        n += sprintf(out + n, "%s", rng_below(2) ? "::" : ":");
}

Test(inet, ipv6_parse_agrees_with_glibc_inet_pton)
{
    char text[128];
    uint8_t got[16], want[16];
    unsigned nb_valid = 0;

    rng_state = 0x1e7;
    for (int i = 0; i < 200000; i++) {
        random_ipv6_text(text);
        bool ok = parse6(text, got);
        bool glibc_ok = inet_pton(AF_INET6, text, want) == 1;
        cr_assert_eq(ok, glibc_ok, "\"%s\": inet %s it, glibc %s it", text,
                     ok ? "accepts" : "refuses", glibc_ok ? "accepts" : "refuses");
        if (ok) {
            cr_assert_arr_eq(got, want, 16, "\"%s\" parsed differently", text);
            nb_valid++;
        }
    }
    cr_assert_gt(nb_valid, 20000, "the generator should make many valid addresses");
}

Test(inet, ipv4_parse_agrees_with_glibc_inet_pton)
{
    char text[64];
    unsigned nb_valid = 0;

    rng_state = 0x4;
    for (int i = 0; i < 100000; i++) {
        uint32_t got, want;
        random_quad(text);
        bool ok = parse4(text, &got);
        bool glibc_ok = inet_pton(AF_INET, text, &want) == 1;
        cr_assert_eq(ok, glibc_ok, "\"%s\"", text);
        if (ok) {
            cr_assert_eq(got, ntohl(want), "\"%s\"", text);
            nb_valid++;
        }
    }
    cr_assert_gt(nb_valid, 10000);
}

/* Groups biased to zero so that runs of every length and position occur. */
static void random_ipv6_addr(uint8_t a[16])
{
    for (int g = 0; g < 8; g++) {
        unsigned kind = rng_below(8);
        uint16_t v = kind < 5 ? 0 : kind == 5 ? 0xffff : (uint16_t)rng_next();
        a[2 * g] = (uint8_t)(v >> 8);
        a[2 * g + 1] = (uint8_t)v;
    }
}

static bool is_ipv4_compatible(const uint8_t a[16])
{
    for (int i = 0; i < 12; i++)
        if (a[i] != 0)
            return false;
    return a[12] != 0 || a[13] != 0;    /* glibc's "::a.b.c.d" case */
}

Test(inet, ipv6_format_agrees_with_glibc_and_parses_back)
{
    char got[46], want[INET6_ADDRSTRLEN];
    uint8_t a[16], back[16];

    rng_state = 0x5952;
    for (int i = 0; i < 100000; i++) {
        random_ipv6_addr(a);
        inet_fmt_ipv6(a, got);
        cr_assert(parse6(got, back), "\"%s\" does not parse back", got);
        cr_assert_arr_eq(back, a, 16, "\"%s\" parses back to another address", got);
        if (is_ipv4_compatible(a))
            continue;
        inet_ntop(AF_INET6, a, want, sizeof(want));
        cr_assert_str_eq(got, want);
    }
}

Test(inet, ipv4_format_parses_back)
{
    char buf[16];

    rng_state = 0x44;
    for (int i = 0; i < 100000; i++) {
        uint32_t a = (uint32_t)rng_next(), back;
        cr_assert(parse4(inet_fmt_ipv4(a, buf), &back));
        cr_assert_eq(back, a, "\"%s\"", buf);
    }
}

Test(inet, prefixes_format_and_parse_back)
{
    char text[64], addr_text[46];
    uint8_t a[16], back[16], len;

    rng_state = 0x64;
    for (int i = 0; i < 20000; i++) {
        random_ipv6_addr(a);
        unsigned plen = rng_below(129);
        for (unsigned b = plen; b < 128; b++)
            a[b / 8] &= (uint8_t)~(0x80u >> (b % 8));
        snprintf(text, sizeof(text), "%s/%u", inet_fmt_ipv6(a, addr_text), plen);
        cr_assert(parse_prefix6(text, back, &len, false), "\"%s\"", text);
        cr_assert_eq(len, plen);
        cr_assert_arr_eq(back, a, 16, "\"%s\"", text);
    }
}

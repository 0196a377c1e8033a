/*
 * Tests for net/acl.c: rule parsing, first-match classification, hit
 * counters and the `acl` command's output.
 *
 * Error messages are compared whole: config.c prints them after
 * "config:LINE: acl: ", so their wording is what a user sees. The last test
 * checks the matcher against a reference written here from acl.h's rules
 * alone (bit-by-bit prefixes, no masks, no protocol translation tricks) on
 * random rule sets and packets aimed at the rules' edges, both ways: by the
 * scan, and by the classifier acl_build makes.
 */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "net/acl.h"
#include "net/errno.h"
#include "net/proto.h"

#define MAX_TOKENS 16

static struct acl acl;
static char why[160];

static void setup(void)
{
    acl_init(&acl);
}

TestSuite(acl, .init = setup);

/* Splits text at spaces into tokens pointing into it, as config.c does. */
static size_t tokenize(const char *text, struct config_token *toks)
{
    size_t n = 0;
    const char *p = text;

    while (*p != '\0') {
        while (*p == ' ')
            p++;
        if (*p == '\0')
            break;
        const char *start = p;
        while (*p != '\0' && *p != ' ')
            p++;
        cr_assert_lt(n, MAX_TOKENS);
        toks[n++] = (struct config_token){start, (size_t)(p - start)};
    }
    return n;
}

static int parse_line(const char *text, uint32_t line)
{
    struct config_token toks[MAX_TOKENS];
    size_t n = tokenize(text, toks);

    memset(why, 'x', sizeof(why) - 1);
    why[sizeof(why) - 1] = '\0';
    return acl_parse(&acl, toks, n, line, why, sizeof(why));
}

static const struct acl_rule *expect_rule(const char *text)
{
    unsigned before = acl.nb_rules;
    int ret = parse_line(text, 7);

    cr_assert_eq(ret, 0, "\"%s\": returned %d: %s", text, ret, why);
    cr_assert_str_eq(why, "", "\"%s\"", text);
    cr_assert_eq(acl.nb_rules, before + 1);
    return &acl.rules[before];
}

static void expect_error(const char *text, int want_ret, const char *want_msg)
{
    unsigned before = acl.nb_rules;
    enum acl_action default_before = acl.default_action;
    int ret = parse_line(text, 7);

    cr_assert_eq(ret, want_ret, "\"%s\": returned %d, want %d (%s)", text, ret, want_ret, why);
    cr_assert_str_eq(why, want_msg, "for \"%s\"", text);
    cr_assert_eq(acl.nb_rules, before, "a bad line adds no rule");
    cr_assert_eq(acl.default_action, default_before, "a bad line leaves the default");
}

static void add(const char *text)
{
    expect_rule(text);
}

/* --- packets ----------------------------------------------------------- */

static struct acl_key key4(uint8_t proto, const char *src, const char *dst, int sport,
                           int dport)
{
    struct acl_key k = {.family = 4, .proto = proto};

    cr_assert_eq(inet_pton(AF_INET, src, k.src), 1);
    cr_assert_eq(inet_pton(AF_INET, dst, k.dst), 1);
    if (sport >= 0) {
        k.has_ports = true;
        k.sport = (uint16_t)sport;
        k.dport = (uint16_t)dport;
    }
    return k;
}

static struct acl_key key6(uint8_t proto, const char *src, const char *dst, int sport,
                           int dport)
{
    struct acl_key k = {.family = 6, .proto = proto};

    cr_assert_eq(inet_pton(AF_INET6, src, k.src), 1);
    cr_assert_eq(inet_pton(AF_INET6, dst, k.dst), 1);
    if (sport >= 0) {
        k.has_ports = true;
        k.sport = (uint16_t)sport;
        k.dport = (uint16_t)dport;
    }
    return k;
}

#define NO_PORTS -1, -1

static int classify(struct acl_key k)
{
    return acl_classify(&acl, &k);
}

/* --- parsing: what each option stores ---------------------------------- */

Test(acl, init_gives_empty_table_defaulting_to_allow)
{
    cr_assert_eq(acl.nb_rules, 0);
    cr_assert_eq(acl.default_action, ACL_ALLOW);
    cr_assert_eq(acl.default_hits, 0);
}

Test(acl, rule_without_options_matches_anything)
{
    const struct acl_rule *r = expect_rule("deny");

    cr_assert_eq(r->action, ACL_DENY);
    cr_assert_eq(r->proto, 0);
    cr_assert_eq(r->family, 0);
    cr_assert_not(r->has_src);
    cr_assert_not(r->has_dst);
    cr_assert_not(r->has_ports);
    cr_assert_eq(r->sport_lo, 0);
    cr_assert_eq(r->sport_hi, 65535);
    cr_assert_eq(r->dport_lo, 0);
    cr_assert_eq(r->dport_hi, 65535);
    cr_assert_eq(r->line, 7);
    cr_assert_eq(r->hits, 0);
    cr_assert_eq(expect_rule("allow")->action, ACL_ALLOW);
}

Test(acl, proto_names_map_to_protocol_numbers)
{
    cr_assert_eq(expect_rule("allow proto tcp")->proto, IPPROTO_TCP_);
    cr_assert_eq(expect_rule("allow proto udp")->proto, IPPROTO_UDP_);
    cr_assert_eq(expect_rule("allow proto icmp")->proto, IPPROTO_ICMP_);
}

Test(acl, ipv4_prefixes_are_stored_in_network_order_and_set_family)
{
    const struct acl_rule *r = expect_rule("allow src 10.1.0.0/16 dst 192.168.1.128/25");
    const uint8_t src[16] = {10, 1, 0, 0}, dst[16] = {192, 168, 1, 128};

    cr_assert_eq(r->family, 4);
    cr_assert(r->has_src);
    cr_assert(r->has_dst);
    cr_assert_arr_eq(r->src, src, 16);
    cr_assert_arr_eq(r->dst, dst, 16);
    cr_assert_eq(r->src_len, 16);
    cr_assert_eq(r->dst_len, 25);
}

Test(acl, ipv6_prefix_sets_family_6)
{
    const struct acl_rule *r = expect_rule("deny dst 2001:db8::/32");
    uint8_t want[16];

    inet_pton(AF_INET6, "2001:db8::", want);
    cr_assert_eq(r->family, 6);
    cr_assert_not(r->has_src);
    cr_assert(r->has_dst);
    cr_assert_arr_eq(r->dst, want, 16);
    cr_assert_eq(r->dst_len, 32);
}

Test(acl, a_single_port_is_a_range_of_one)
{
    const struct acl_rule *r = expect_rule("allow proto tcp dport 22");

    cr_assert(r->has_ports);
    cr_assert_eq(r->dport_lo, 22);
    cr_assert_eq(r->dport_hi, 22);
    cr_assert_eq(r->sport_lo, 0);
    cr_assert_eq(r->sport_hi, 65535);
}

Test(acl, port_ranges_are_inclusive_and_may_span_everything)
{
    const struct acl_rule *r = expect_rule("allow proto udp sport 1024-65535 dport 0-0");

    cr_assert_eq(r->sport_lo, 1024);
    cr_assert_eq(r->sport_hi, 65535);
    cr_assert_eq(r->dport_lo, 0);
    cr_assert_eq(r->dport_hi, 0);
    r = expect_rule("allow proto udp sport 0-65535");
    cr_assert(r->has_ports, "naming ports, even all of them, still needs ports");
}

Test(acl, options_come_in_any_order)
{
    const struct acl_rule *r =
        expect_rule("deny dport 80-88 dst 10.0.0.0/8 sport 5 proto tcp src 10.9.0.0/16");

    cr_assert_eq(r->proto, IPPROTO_TCP_);
    cr_assert_eq(r->src_len, 16);
    cr_assert_eq(r->dst_len, 8);
    cr_assert_eq(r->sport_lo, 5);
    cr_assert_eq(r->dport_hi, 88);
}

Test(acl, port_with_leading_zero_is_decimal)
{
    cr_assert_eq(expect_rule("allow proto tcp dport 080")->dport_lo, 80);
}

Test(acl, rules_keep_config_order_and_line_numbers)
{
    cr_assert_eq(parse_line("deny proto tcp", 3), 0);
    cr_assert_eq(parse_line("allow proto udp", 9), 0);
    cr_assert_eq(acl.nb_rules, 2);
    cr_assert_eq(acl.rules[0].line, 3);
    cr_assert_eq(acl.rules[0].proto, IPPROTO_TCP_);
    cr_assert_eq(acl.rules[1].line, 9);
    cr_assert_eq(acl.rules[1].proto, IPPROTO_UDP_);
}

Test(acl, default_sets_the_action_and_adds_no_rule)
{
    cr_assert_eq(parse_line("default deny", 1), 0);
    cr_assert_eq(acl.default_action, ACL_DENY);
    cr_assert_eq(parse_line("default allow", 2), 0);
    cr_assert_eq(acl.default_action, ACL_ALLOW, "the last default line wins");
    cr_assert_eq(acl.nb_rules, 0);
}

/* --- parsing: every error, word for word ------------------------------ */

Test(acl, error_no_words)
{
    expect_error("", -PM_EINVAL, "needs allow, deny or default");
}

Test(acl, error_unknown_action)
{
    expect_error("permit proto tcp", -PM_EINVAL, "'permit' is not allow, deny or default");
    expect_error("Allow", -PM_EINVAL, "'Allow' is not allow, deny or default");
}

Test(acl, error_default_needs_exactly_allow_or_deny)
{
    expect_error("default", -PM_EINVAL, "default needs allow or deny");
    expect_error("default maybe", -PM_EINVAL, "default 'maybe' is not allow or deny");
    expect_error("default deny now", -PM_EINVAL, "unexpected 'now' after default deny");
    expect_error("default proto tcp", -PM_EINVAL, "default 'proto' is not allow or deny");
}

Test(acl, error_unknown_option)
{
    expect_error("allow foo 1", -PM_EINVAL, "unknown option 'foo'");
    expect_error("allow proto tcp tcp", -PM_EINVAL, "unknown option 'tcp'");
    expect_error("allow from 10.0.0.0/8", -PM_EINVAL, "unknown option 'from'");
}

Test(acl, error_option_given_twice)
{
    expect_error("allow proto tcp proto udp", -PM_EINVAL, "proto given twice");
    expect_error("allow src 10.0.0.0/8 src 11.0.0.0/8", -PM_EINVAL, "src given twice");
    expect_error("allow dst 10.0.0.0/8 dst 10.0.0.0/8", -PM_EINVAL, "dst given twice");
    expect_error("allow proto tcp sport 1 sport 1", -PM_EINVAL, "sport given twice");
    expect_error("allow proto tcp dport 1 sport 2 dport 3", -PM_EINVAL, "dport given twice");
}

Test(acl, error_option_without_value)
{
    expect_error("allow proto", -PM_EINVAL, "proto needs a value (tcp, udp or icmp)");
    expect_error("allow src", -PM_EINVAL, "src needs a value (an IPv4 or IPv6 prefix)");
    expect_error("allow proto tcp dst", -PM_EINVAL,
                 "dst needs a value (an IPv4 or IPv6 prefix)");
    expect_error("allow proto tcp sport", -PM_EINVAL, "sport needs a value (N or N-M)");
    expect_error("allow proto udp dport", -PM_EINVAL, "dport needs a value (N or N-M)");
}

Test(acl, error_unknown_protocol)
{
    expect_error("allow proto gre", -PM_EINVAL, "proto 'gre' is not tcp, udp or icmp");
    expect_error("allow proto 6", -PM_EINVAL, "proto '6' is not tcp, udp or icmp");
    expect_error("allow proto icmpv6", -PM_EINVAL, "proto 'icmpv6' is not tcp, udp or icmp");
    expect_error("allow proto TCP", -PM_EINVAL, "proto 'TCP' is not tcp, udp or icmp");
}

Test(acl, error_prefix_with_host_bits_suggests_the_network)
{
    expect_error("allow src 10.0.0.1/8", -PM_EINVAL,
                 "src 10.0.0.1/8 has host bits set (did you mean 10.0.0.0/8?)");
    expect_error("allow dst 192.168.1.200/25", -PM_EINVAL,
                 "dst 192.168.1.200/25 has host bits set (did you mean 192.168.1.128/25?)");
    expect_error("allow dst 2001:db8::1/32", -PM_EINVAL,
                 "dst 2001:db8::1/32 has host bits set (did you mean 2001:db8::/32?)");
    expect_error("allow src 2001:db8:ffff:ffff::/33", -PM_EINVAL,
                 "src 2001:db8:ffff:ffff::/33 has host bits set (did you mean 2001:db8:8000::/33?)");
}

Test(acl, error_address_without_prefix_length)
{
    expect_error("allow src 10.0.0.1", -PM_EINVAL,
                 "src 10.0.0.1 has no prefix length (/32 for one host)");
    expect_error("allow dst fe80::1", -PM_EINVAL,
                 "dst fe80::1 has no prefix length (/128 for one host)");
}

Test(acl, error_prefix_length_out_of_range)
{
    expect_error("allow src 10.0.0.0/33", -PM_ERANGE,
                 "src 10.0.0.0/33: prefix length must be 0..32");
    expect_error("allow dst ::/129", -PM_ERANGE, "dst ::/129: prefix length must be 0..128");
    expect_error("allow dst ::/", -PM_ERANGE, "dst ::/: prefix length must be 0..128");
    expect_error("allow src 10.0.0.0/08", -PM_ERANGE,
                 "src 10.0.0.0/08: prefix length must be 0..32");
}

Test(acl, error_not_a_prefix)
{
    expect_error("allow src 10.0.0/8", -PM_EINVAL,
                 "src '10.0.0/8' is not an IPv4 or IPv6 prefix");
    expect_error("allow dst any", -PM_EINVAL, "dst 'any' is not an IPv4 or IPv6 prefix");
    expect_error("allow src 010.0.0.0/8", -PM_EINVAL,
                 "src '010.0.0.0/8' is not an IPv4 or IPv6 prefix");
    expect_error("allow dst 1::2::3/64", -PM_EINVAL,
                 "dst '1::2::3/64' is not an IPv4 or IPv6 prefix");
}

Test(acl, error_src_and_dst_of_different_families)
{
    expect_error("allow src 10.0.0.0/8 dst ::/0", -PM_EINVAL, "src is IPv4 but dst is IPv6");
    expect_error("allow dst 0.0.0.0/0 src 2001:db8::/32", -PM_EINVAL,
                 "src is IPv6 but dst is IPv4");
}

Test(acl, error_ports_without_tcp_or_udp)
{
    expect_error("allow sport 22", -PM_EINVAL, "sport needs proto tcp or udp");
    expect_error("allow proto icmp dport 1", -PM_EINVAL, "dport needs proto tcp or udp");
    expect_error("allow dport 1 sport 2", -PM_EINVAL, "dport needs proto tcp or udp");
    expect_rule("allow sport 22 proto tcp");
}

Test(acl, error_port_not_a_number_or_range)
{
    const char *bad[] = {"x", "1-", "-1", "1-2-3", "1--2", "+1", "0x10", "22 ", "1 - 2"};
    char line[64], want[96];

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (strchr(bad[i], ' '))
            continue;   /* the tokenizer would split these: see the token test */
        snprintf(line, sizeof(line), "allow proto tcp sport %s", bad[i]);
        snprintf(want, sizeof(want), "sport '%s' is not a port or range (N or N-M)", bad[i]);
        expect_error(line, -PM_EINVAL, want);
    }
    struct config_token toks[] = {{"allow", 5}, {"proto", 5}, {"tcp", 3}, {"dport", 5},
                                  {"", 0}};
    cr_assert_eq(acl_parse(&acl, toks, 5, 1, why, sizeof(why)), -PM_EINVAL);
    cr_assert_str_eq(why, "dport '' is not a port or range (N or N-M)");
}

Test(acl, error_port_out_of_range)
{
    expect_error("allow proto tcp sport 65536", -PM_ERANGE,
                 "sport 65536 is out of range 0..65535");
    expect_error("allow proto udp dport 1-99999999999999999999", -PM_ERANGE,
                 "dport 1-99999999999999999999 is out of range 0..65535");
    expect_error("allow proto udp dport 4294967297", -PM_ERANGE,
                 "dport 4294967297 is out of range 0..65535");
}

Test(acl, error_port_range_backwards)
{
    expect_error("allow proto tcp sport 90-80", -PM_EINVAL,
                 "sport 90-80 is backwards (N-M needs N <= M)");
    expect_rule("allow proto tcp sport 80-80");
}

Test(acl, error_too_many_rules_keeps_the_table)
{
    for (unsigned i = 0; i < ACL_MAX_RULES; i++)
        cr_assert_eq(parse_line("deny proto tcp dport 1", i + 1), 0);
    expect_error("allow", -PM_ENOSPC, "too many rules (max 256)");
    cr_assert_eq(acl.nb_rules, ACL_MAX_RULES);
    cr_assert_eq(parse_line("default deny", 999), 0, "the default is no rule");
}

Test(acl, syntax_errors_come_before_the_rule_limit)
{
    for (unsigned i = 0; i < ACL_MAX_RULES; i++)
        cr_assert_eq(parse_line("deny", i + 1), 0);
    expect_error("allow proto gre", -PM_EINVAL, "proto 'gre' is not tcp, udp or icmp");
}

Test(acl, error_message_is_cut_to_the_buffer)
{
    struct config_token toks[2] = {{"allow", 5}, {"foo", 3}};
    char small[8];

    cr_assert_eq(acl_parse(&acl, toks, 2, 1, small, sizeof(small)), -PM_EINVAL);
    cr_assert_str_eq(small, "unknown");
    cr_assert_eq(acl_parse(&acl, toks, 2, 1, NULL, 0), -PM_EINVAL);
}

Test(acl, tokens_are_read_only_to_their_length)
{
    const char *text = "deny proto tcpx dport 22-23x";
    struct config_token toks[] = {{text, 4}, {text + 5, 5}, {text + 11, 3},
                                  {text + 16, 5}, {text + 22, 5}};

    cr_assert_eq(acl_parse(&acl, toks, 5, 1, why, sizeof(why)), 0, "%s", why);
    cr_assert_eq(acl.rules[0].dport_hi, 23);
}

/* --- matching --------------------------------------------------------- */

Test(acl, first_matching_rule_wins)
{
    add("deny proto tcp dport 22");
    add("allow proto tcp");
    add("deny");

    cr_assert_eq(classify(key4(IPPROTO_TCP_, "1.1.1.1", "2.2.2.2", 999, 22)), 0);
    cr_assert_eq(classify(key4(IPPROTO_TCP_, "1.1.1.1", "2.2.2.2", 999, 23)), 1);
    cr_assert_eq(classify(key4(IPPROTO_UDP_, "1.1.1.1", "2.2.2.2", 999, 22)), 2);
    struct acl_key k = key4(IPPROTO_TCP_, "1.1.1.1", "2.2.2.2", 999, 22);
    cr_assert_eq(acl_match(&acl, &k), ACL_DENY);
}

Test(acl, a_later_broader_rule_never_overrides_an_earlier_one)
{
    add("allow src 10.0.0.0/24");
    add("deny src 10.0.0.0/8");

    cr_assert_eq(classify(key4(IPPROTO_UDP_, "10.0.0.5", "1.1.1.1", 1, 1)), 0);
    cr_assert_eq(classify(key4(IPPROTO_UDP_, "10.0.1.5", "1.1.1.1", 1, 1)), 1);
}

Test(acl, unmatched_packet_takes_the_default_allow)
{
    add("deny proto udp");
    struct acl_key k = key4(IPPROTO_TCP_, "1.1.1.1", "2.2.2.2", 1, 2);

    cr_assert_eq(acl_classify(&acl, &k), -1);
    cr_assert_eq(acl_match(&acl, &k), ACL_ALLOW);
}

Test(acl, unmatched_packet_takes_the_default_deny)
{
    add("allow proto udp");
    cr_assert_eq(parse_line("default deny", 2), 0);
    struct acl_key k = key4(IPPROTO_TCP_, "1.1.1.1", "2.2.2.2", 1, 2);

    cr_assert_eq(acl_match(&acl, &k), ACL_DENY);
    k.proto = IPPROTO_UDP_;
    cr_assert_eq(acl_match(&acl, &k), ACL_ALLOW);
}

Test(acl, empty_table_allows_everything)
{
    struct acl_key k = key6(IPPROTO_TCP_, "::1", "::2", 1, 2);

    cr_assert_eq(acl_match(&acl, &k), ACL_ALLOW);
    cr_assert_eq(acl.default_hits, 1);
}

Test(acl, ipv4_rule_never_matches_ipv6_packet)
{
    add("deny src 0.0.0.0/0");
    add("deny dst 0.0.0.0/0");

    cr_assert_eq(classify(key6(IPPROTO_TCP_, "::", "::", 1, 2)), -1);
    cr_assert_eq(classify(key6(IPPROTO_UDP_, "::ffff:1.2.3.4", "::ffff:0.0.0.0", 1, 2)), -1);
    cr_assert_eq(classify(key4(IPPROTO_TCP_, "9.9.9.9", "0.0.0.0", 1, 2)), 0);
}

Test(acl, ipv6_rule_never_matches_ipv4_packet)
{
    add("deny src ::/0");
    add("deny dst ::/0");

    cr_assert_eq(classify(key4(IPPROTO_TCP_, "0.0.0.0", "0.0.0.0", 1, 2)), -1);
    cr_assert_eq(classify(key6(IPPROTO_TCP_, "fe80::1", "::1", 1, 2)), 0);
}

Test(acl, ipv4_rule_ignores_bytes_past_the_ipv4_address)
{
    add("deny src 10.0.0.0/32");
    struct acl_key k = key4(IPPROTO_TCP_, "10.0.0.0", "1.1.1.1", 1, 2);

    memset(k.src + 4, 0xff, 12);
    cr_assert_eq(acl_classify(&acl, &k), 0);
}

Test(acl, rule_without_prefixes_matches_both_families)
{
    add("deny proto tcp dport 22");

    cr_assert_eq(classify(key4(IPPROTO_TCP_, "1.2.3.4", "5.6.7.8", 1000, 22)), 0);
    cr_assert_eq(classify(key6(IPPROTO_TCP_, "2001:db8::1", "2001:db8::2", 1000, 22)), 0);
}

Test(acl, ipv4_prefix_matches_exactly_its_range)
{
    add("deny src 10.0.0.0/8 dst 192.168.1.128/25");

    cr_assert_eq(classify(key4(IPPROTO_UDP_, "10.0.0.0", "192.168.1.128", 1, 1)), 0);
    cr_assert_eq(classify(key4(IPPROTO_UDP_, "10.255.255.255", "192.168.1.255", 1, 1)), 0);
    cr_assert_eq(classify(key4(IPPROTO_UDP_, "9.255.255.255", "192.168.1.128", 1, 1)), -1);
    cr_assert_eq(classify(key4(IPPROTO_UDP_, "11.0.0.0", "192.168.1.128", 1, 1)), -1);
    cr_assert_eq(classify(key4(IPPROTO_UDP_, "10.0.0.1", "192.168.1.127", 1, 1)), -1);
    cr_assert_eq(classify(key4(IPPROTO_UDP_, "10.0.0.1", "192.168.2.128", 1, 1)), -1);
}

Test(acl, ipv4_prefix_lengths_0_and_32)
{
    add("deny src 1.2.3.4/32");
    add("allow src 0.0.0.0/0");

    cr_assert_eq(classify(key4(IPPROTO_UDP_, "1.2.3.4", "0.0.0.0", 1, 1)), 0);
    cr_assert_eq(classify(key4(IPPROTO_UDP_, "1.2.3.5", "0.0.0.0", 1, 1)), 1);
    cr_assert_eq(classify(key4(IPPROTO_UDP_, "255.255.255.255", "0.0.0.0", 1, 1)), 1);
}

Test(acl, ipv6_prefix_edges_around_the_64_bit_halves)
{
    add("deny src 2001:db8:0:1::/64");
    add("deny src 2001:db8:0:2:8000::/65");
    add("deny src 2001:db8:0:4::/63");
    add("deny src ::1/128");
    add("deny src 2001:db8:0:6::2/127");

    cr_assert_eq(classify(key6(IPPROTO_UDP_, "2001:db8:0:1:ffff:ffff:ffff:ffff", "::", 1, 1)), 0);
    cr_assert_eq(classify(key6(IPPROTO_UDP_, "2001:db8:0:0:ffff::", "::", 1, 1)), -1);
    cr_assert_eq(classify(key6(IPPROTO_UDP_, "2001:db8:0:2:8000::1", "::", 1, 1)), 1);
    cr_assert_eq(classify(key6(IPPROTO_UDP_, "2001:db8:0:2:ffff::", "::", 1, 1)), 1);
    cr_assert_eq(classify(key6(IPPROTO_UDP_, "2001:db8:0:2:7fff::", "::", 1, 1)), -1);
    cr_assert_eq(classify(key6(IPPROTO_UDP_, "2001:db8:0:4::", "::", 1, 1)), 2);
    cr_assert_eq(classify(key6(IPPROTO_UDP_, "2001:db8:0:5::5", "::", 1, 1)), 2);
    cr_assert_eq(classify(key6(IPPROTO_UDP_, "2001:db8:0:3:ffff:ffff:ffff:ffff", "::", 1, 1)), -1);
    cr_assert_eq(classify(key6(IPPROTO_UDP_, "::1", "::", 1, 1)), 3);
    cr_assert_eq(classify(key6(IPPROTO_UDP_, "::3", "::", 1, 1)), -1);
    cr_assert_eq(classify(key6(IPPROTO_UDP_, "2001:db8:0:6::2", "::", 1, 1)), 4);
    cr_assert_eq(classify(key6(IPPROTO_UDP_, "2001:db8:0:6::3", "::", 1, 1)), 4);
    cr_assert_eq(classify(key6(IPPROTO_UDP_, "2001:db8:0:6::1", "::", 1, 1)), -1);
    cr_assert_eq(classify(key6(IPPROTO_UDP_, "2001:db8:0:6::4", "::", 1, 1)), -1);
}

Test(acl, proto_rule_matches_only_its_protocol)
{
    add("deny proto udp");

    cr_assert_eq(classify(key4(IPPROTO_UDP_, "1.1.1.1", "2.2.2.2", 1, 1)), 0);
    cr_assert_eq(classify(key4(IPPROTO_TCP_, "1.1.1.1", "2.2.2.2", 1, 1)), -1);
    cr_assert_eq(classify(key4(47, "1.1.1.1", "2.2.2.2", NO_PORTS)), -1);
}

Test(acl, port_ranges_include_both_ends)
{
    add("deny proto tcp sport 1000-2000 dport 80");

    cr_assert_eq(classify(key4(IPPROTO_TCP_, "1.1.1.1", "2.2.2.2", 1000, 80)), 0);
    cr_assert_eq(classify(key4(IPPROTO_TCP_, "1.1.1.1", "2.2.2.2", 2000, 80)), 0);
    cr_assert_eq(classify(key4(IPPROTO_TCP_, "1.1.1.1", "2.2.2.2", 999, 80)), -1);
    cr_assert_eq(classify(key4(IPPROTO_TCP_, "1.1.1.1", "2.2.2.2", 2001, 80)), -1);
    cr_assert_eq(classify(key4(IPPROTO_TCP_, "1.1.1.1", "2.2.2.2", 1500, 81)), -1);
    cr_assert_eq(classify(key4(IPPROTO_TCP_, "1.1.1.1", "2.2.2.2", 1500, 79)), -1);
}

Test(acl, packet_without_ports_matches_only_rules_without_ports)
{
    add("deny proto udp dport 53");
    add("deny proto udp sport 0-65535");
    add("allow proto udp");
    struct acl_key fragment = key4(IPPROTO_UDP_, "1.1.1.1", "2.2.2.2", NO_PORTS);

    cr_assert_eq(acl_classify(&acl, &fragment), 2);
    fragment.dport = 53;    /* stale port fields must not count */
    cr_assert_eq(acl_classify(&acl, &fragment), 2);
    cr_assert_eq(classify(key4(IPPROTO_UDP_, "1.1.1.1", "2.2.2.2", 7, 53)), 0);
    cr_assert_eq(classify(key4(IPPROTO_UDP_, "1.1.1.1", "2.2.2.2", 7, 54)), 1);
}

Test(acl, icmp_rule_matches_icmpv6_for_ipv6)
{
    add("deny proto icmp");

    cr_assert_eq(classify(key4(IPPROTO_ICMP_, "1.1.1.1", "2.2.2.2", NO_PORTS)), 0);
    cr_assert_eq(classify(key6(IPPROTO_ICMPV6_, "::1", "::2", NO_PORTS)), 0);
}

Test(acl, icmp_rule_takes_no_protocol_of_the_other_family)
{
    add("deny proto icmp");

    cr_assert_eq(classify(key4(IPPROTO_ICMPV6_, "1.1.1.1", "2.2.2.2", NO_PORTS)), -1);
    cr_assert_eq(classify(key6(IPPROTO_ICMP_, "::1", "::2", NO_PORTS)), -1);
}

Test(acl, icmpv6_is_not_mistaken_for_other_protocols)
{
    add("deny proto tcp");
    add("deny proto udp");

    cr_assert_eq(classify(key6(IPPROTO_ICMPV6_, "::1", "::2", NO_PORTS)), -1);
    cr_assert_eq(classify(key6(IPPROTO_TCP_, "::1", "::2", 1, 2)), 0);
}

/* --- counters --------------------------------------------------------- */

Test(acl, match_counts_hits_per_rule_and_for_the_default)
{
    add("deny proto tcp");
    add("allow proto udp");
    struct acl_key tcp = key4(IPPROTO_TCP_, "1.1.1.1", "2.2.2.2", 1, 2);
    struct acl_key udp = key6(IPPROTO_UDP_, "::1", "::2", 1, 2);
    struct acl_key icmp = key4(IPPROTO_ICMP_, "1.1.1.1", "2.2.2.2", NO_PORTS);

    for (int i = 0; i < 3; i++)
        acl_match(&acl, &tcp);
    acl_match(&acl, &udp);
    acl_match(&acl, &icmp);
    acl_match(&acl, &icmp);
    cr_assert_eq(acl.rules[0].hits, 3);
    cr_assert_eq(acl.rules[1].hits, 1);
    cr_assert_eq(acl.default_hits, 2);
}

/* --- the classifier's life cycle --------------------------------------- */

static uint64_t build_mem[(1u << 18) / 8];      /* more than 256 rules need */

Test(acl, build_refuses_too_little_or_misaligned_memory_and_leaves_the_scan)
{
    add("deny proto tcp dport 22");
    size_t need = acl_mem_bytes(acl.nb_rules);

    cr_assert_leq(acl_mem_bytes(ACL_MAX_RULES), sizeof(build_mem));
    cr_assert_eq(acl_build(&acl, build_mem, need - 1), -PM_ENOSPC);
    cr_assert_null(acl.classifier);
    cr_assert_eq(acl_build(&acl, (uint8_t *)build_mem + 4, need), -PM_EINVAL);
    cr_assert_null(acl.classifier);
    cr_assert_eq(classify(key4(IPPROTO_TCP_, "1.1.1.1", "2.2.2.2", 1, 22)), 0, "the scan answers");
    cr_assert_eq(acl_build(&acl, build_mem, need), 0);
    cr_assert_not_null(acl.classifier);
    cr_assert_eq(classify(key4(IPPROTO_TCP_, "1.1.1.1", "2.2.2.2", 1, 22)), 0);
    cr_assert_eq(classify(key4(IPPROTO_TCP_, "1.1.1.1", "2.2.2.2", 1, 23)), -1);
}

Test(acl, a_rule_added_after_the_build_is_matched_by_the_scan_until_rebuilt)
{
    add("deny proto tcp dport 22");
    cr_assert_eq(acl_build(&acl, build_mem, sizeof(build_mem)), 0);
    add("deny proto udp");

    cr_assert_null(acl.classifier, "the classifier knows nothing of the new rule");
    cr_assert_eq(classify(key4(IPPROTO_UDP_, "1.1.1.1", "2.2.2.2", 1, 2)), 1);
    cr_assert_eq(acl_build(&acl, build_mem, sizeof(build_mem)), 0);
    cr_assert_eq(classify(key4(IPPROTO_UDP_, "1.1.1.1", "2.2.2.2", 1, 2)), 1);
    cr_assert_eq(classify(key4(IPPROTO_TCP_, "1.1.1.1", "2.2.2.2", 1, 22)), 0);
}

Test(acl, an_empty_table_builds_and_allows_everything)
{
    cr_assert_eq(acl_build(&acl, build_mem, acl_mem_bytes(0)), 0);
    struct acl_key k = key6(IPPROTO_TCP_, "::1", "::2", 1, 2);

    cr_assert_eq(acl_classify(&acl, &k), -1);
    cr_assert_eq(acl_match(&acl, &k), ACL_ALLOW);
}

Test(acl, classify_counts_nothing)
{
    add("deny proto tcp");
    struct acl_key tcp = key4(IPPROTO_TCP_, "1.1.1.1", "2.2.2.2", 1, 2);
    struct acl_key udp = key4(IPPROTO_UDP_, "1.1.1.1", "2.2.2.2", 1, 2);

    acl_classify(&acl, &tcp);
    acl_classify(&acl, &udp);
    cr_assert_eq(acl.rules[0].hits, 0);
    cr_assert_eq(acl.default_hits, 0);
}

/* --- the `acl` command ------------------------------------------------ */

static char printed[4096];
static size_t printed_len;
static int nb_print_calls;

static int capture_print(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    int n = vsnprintf(printed + printed_len, sizeof(printed) - printed_len, fmt, ap);
    va_end(ap);
    printed_len += (size_t)n;
    cr_assert_lt(printed_len, sizeof(printed));
    nb_print_calls++;
    return n;
}

Test(acl, print_lists_rules_in_order_with_line_text_and_hits_then_default)
{
    cr_assert_eq(parse_line("deny proto tcp src 10.0.0.0/8 dport 22", 12), 0);
    cr_assert_eq(parse_line("allow dst 2001:db8::/32 proto udp sport 1000-2000", 14), 0);
    cr_assert_eq(parse_line("deny proto icmp", 15), 0);
    cr_assert_eq(parse_line("default deny", 16), 0);
    acl.rules[0].hits = 1234;
    acl.default_hits = 99;

    acl_print(&acl, capture_print);
    cr_assert_str_eq(printed,
                     "   line         hits  rule\n"
                     "     12         1234  deny proto tcp src 10.0.0.0/8 dport 22\n"
                     "     14            0  allow proto udp dst 2001:db8::/32 sport 1000-2000\n"
                     "     15            0  deny proto icmp\n"
                     "default           99  deny\n");
    cr_assert_eq(nb_print_calls, 5, "one call per line");
}

Test(acl, print_shows_what_the_rule_needs_to_match_the_same_packets)
{
    add("allow");
    add("deny proto udp sport 0-65535");
    add("deny proto udp dport 0-65535 sport 7");
    add("deny proto tcp dport 5-5 src ::ffff:10.0.0.0/104 dst 0:0:0:0:0:0:0:0/0");
    add("allow src 1.2.3.4/32 dst 0.0.0.0/0");
    acl.default_hits = 18446744073709551615ull;

    acl_print(&acl, capture_print);
    cr_assert_str_eq(printed,
                     "   line         hits  rule\n"
                     "      7            0  allow\n"
                     "      7            0  deny proto udp sport 0-65535\n"
                     "      7            0  deny proto udp sport 7\n"
                     "      7            0  deny proto tcp src ::ffff:10.0.0.0/104 dst ::/0 dport 5\n"
                     "      7            0  allow src 1.2.3.4/32 dst 0.0.0.0/0\n"
                     "default 18446744073709551615  allow\n");
}

/* Field by field: struct padding is not part of a rule. */
static bool rules_equal(const struct acl_rule *a, const struct acl_rule *b)
{
    return a->action == b->action && a->proto == b->proto && a->family == b->family &&
           a->has_src == b->has_src && a->has_dst == b->has_dst &&
           memcmp(a->src, b->src, 16) == 0 && memcmp(a->dst, b->dst, 16) == 0 &&
           a->src_len == b->src_len && a->dst_len == b->dst_len &&
           a->sport_lo == b->sport_lo && a->sport_hi == b->sport_hi &&
           a->dport_lo == b->dport_lo && a->dport_hi == b->dport_hi &&
           a->has_ports == b->has_ports && a->line == b->line && a->hits == b->hits;
}

Test(acl, printed_rules_parse_back_to_the_same_rules)
{
    const char *lines[] = {
        "deny proto tcp src 10.0.0.0/8 dst 10.1.0.0/16 sport 1-2 dport 3-4",
        "allow proto udp sport 0-65535",
        "deny dst fe80::/10 proto icmp",
        "allow",
    };
    struct acl again;

    for (size_t i = 0; i < 4; i++)
        add(lines[i]);
    acl_print(&acl, capture_print);
    acl_init(&again);
    char *save, *line = strtok_r(printed, "\n", &save);
    while ((line = strtok_r(NULL, "\n", &save)) != NULL) {
        if (strncmp(line, "default", 7) == 0)
            break;
        struct config_token toks[MAX_TOKENS];
        size_t n = tokenize(line, toks);
        cr_assert_eq(acl_parse(&again, toks + 2, n - 2, 7, why, sizeof(why)), 0, "%s", why);
    }
    cr_assert_eq(again.nb_rules, acl.nb_rules);
    for (unsigned i = 0; i < acl.nb_rules; i++)
        cr_assert(rules_equal(&again.rules[i], &acl.rules[i]), "rule %u", i);
}

/* --- against a reference matcher --------------------------------------- */

/* A rule as the test generates it: whatever acl.h says, spelled out. */
struct ref_rule {
    bool deny;
    int proto;                  /* 0, 6, 17, or 1 meaning "icmp" */
    int family;                 /* 4, 6, or 0 when no prefix is given */
    bool has_src, has_dst;
    uint8_t src[16], dst[16];
    int src_len, dst_len;
    bool has_sport, has_dport;
    int sport_lo, sport_hi, dport_lo, dport_hi;
};

struct ref_packet {
    int family;
    int proto;
    uint8_t src[16], dst[16];
    bool has_ports;
    int sport, dport;
};

static bool ref_bit(const uint8_t *addr, int i)
{
    return (addr[i / 8] >> (7 - i % 8)) & 1;
}

static bool ref_in_prefix(const uint8_t *net, int len, const uint8_t *addr)
{
    for (int i = 0; i < len; i++)
        if (ref_bit(net, i) != ref_bit(addr, i))
            return false;
    return true;
}

static bool ref_matches(const struct ref_rule *r, const struct ref_packet *p)
{
    if ((r->has_src || r->has_dst) && r->family != p->family)
        return false;
    if (r->proto == 1) {
        int icmp = p->family == 4 ? 1 : 58;
        if (p->proto != icmp)
            return false;
    } else if (r->proto != 0 && r->proto != p->proto) {
        return false;
    }
    if ((r->has_sport || r->has_dport) && !p->has_ports)
        return false;
    if (r->has_sport && (p->sport < r->sport_lo || p->sport > r->sport_hi))
        return false;
    if (r->has_dport && (p->dport < r->dport_lo || p->dport > r->dport_hi))
        return false;
    if (r->has_src && !ref_in_prefix(r->src, r->src_len, p->src))
        return false;
    if (r->has_dst && !ref_in_prefix(r->dst, r->dst_len, p->dst))
        return false;
    return true;
}

static int ref_classify(const struct ref_rule *rules, int nb_rules, const struct ref_packet *p)
{
    for (int i = 0; i < nb_rules; i++)
        if (ref_matches(&rules[i], p))
            return i;
    return -1;
}

static uint64_t rng_state;

static uint64_t rng_next(void)    /* splitmix64 */
{
    uint64_t z = (rng_state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static int rng_below(int n)
{
    return (int)(rng_next() % (uint64_t)n);
}

static void flip_bit(uint8_t *addr, int i)
{
    addr[i / 8] ^= (uint8_t)(0x80 >> (i % 8));
}

/* A few networks that rules and packets share, so that prefixes nest and
 * overlap instead of being scattered over the whole address space. */
static void random_base(int family, uint8_t addr[16])
{
    static const uint8_t bases4[][4] = {{10, 0, 0, 0}, {10, 1, 2, 0}, {192, 168, 1, 0},
                                        {0, 0, 0, 0}, {255, 255, 255, 255}};
    static const uint8_t bases6[][16] = {
        {0x20, 0x01, 0x0d, 0xb8},
        {0x20, 0x01, 0x0d, 0xb8, 0, 1, 0, 2, 0x80},
        {0xfe, 0x80},
        {0},
        {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
         0xff, 0xff},
    };
    int n = family == 4 ? 4 : 16;

    memset(addr, 0, 16);
    memcpy(addr, family == 4 ? bases4[rng_below(5)] : bases6[rng_below(5)], (size_t)n);
    for (int i = 0, nb_flips = rng_below(3); i < nb_flips; i++)
        flip_bit(addr, rng_below(n * 8));
}

static int random_prefix_len(int family)
{
    static const int lens4[] = {0, 1, 7, 8, 9, 16, 23, 24, 25, 31, 32};
    static const int lens6[] = {0, 1, 10, 32, 48, 63, 64, 65, 96, 120, 127, 128};

    if (rng_below(3) == 0)
        return rng_below(family == 4 ? 33 : 129);
    return family == 4 ? lens4[rng_below(11)] : lens6[rng_below(12)];
}

static void random_prefix(int family, uint8_t addr[16], int *len)
{
    random_base(family, addr);
    *len = random_prefix_len(family);
    for (int i = *len; i < (family == 4 ? 32 : 128); i++)
        if (ref_bit(addr, i))
            flip_bit(addr, i);
}

static int random_port(void)
{
    static const int ports[] = {0, 1, 22, 53, 79, 80, 81, 443, 1023, 1024, 65534, 65535};
    return rng_below(3) == 0 ? rng_below(65536) : ports[rng_below(12)];
}

static void random_range(int *lo, int *hi)
{
    int a = random_port(), b = rng_below(3) == 0 ? a : random_port();
    *lo = a < b ? a : b;
    *hi = a < b ? b : a;
}

static void random_rule(struct ref_rule *r)
{
    static const int protos[] = {0, 0, 6, 6, 17, 17, 1};

    memset(r, 0, sizeof(*r));
    r->deny = rng_below(2);
    r->proto = protos[rng_below(7)];
    r->family = rng_below(3) == 0 ? 0 : rng_below(2) ? 4 : 6;
    if (r->family != 0) {
        r->has_src = rng_below(3) != 0;
        r->has_dst = !r->has_src || rng_below(2);
    }
    if (r->has_src)
        random_prefix(r->family, r->src, &r->src_len);
    if (r->has_dst)
        random_prefix(r->family, r->dst, &r->dst_len);
    if (r->proto == 6 || r->proto == 17) {
        r->has_sport = rng_below(3) == 0;
        r->has_dport = rng_below(2) == 0;
    }
    if (r->has_sport)
        random_range(&r->sport_lo, &r->sport_hi);
    if (r->has_dport)
        random_range(&r->dport_lo, &r->dport_hi);
}

/* Writes the rule as a config line would (the words after "acl"). */
static void ref_rule_text(const struct ref_rule *r, char *out, size_t size)
{
    char a[INET6_ADDRSTRLEN];
    int af = r->family == 4 ? AF_INET : AF_INET6;
    int n = snprintf(out, size, "%s", r->deny ? "deny" : "allow");

    if (r->proto != 0)
        n += snprintf(out + n, size - (size_t)n, " proto %s",
                      r->proto == 6 ? "tcp" : r->proto == 17 ? "udp" : "icmp");
    if (r->has_src)
        n += snprintf(out + n, size - (size_t)n, " src %s/%d",
                      inet_ntop(af, r->src, a, sizeof(a)), r->src_len);
    if (r->has_dst)
        n += snprintf(out + n, size - (size_t)n, " dst %s/%d",
                      inet_ntop(af, r->dst, a, sizeof(a)), r->dst_len);
    if (r->has_sport)
        n += snprintf(out + n, size - (size_t)n, " sport %d-%d", r->sport_lo, r->sport_hi);
    if (r->has_dport)
        snprintf(out + n, size - (size_t)n, " dport %d-%d", r->dport_lo, r->dport_hi);
}

/* An address near a rule's prefix: inside it, or one bit outside its edge. */
static void random_address(const struct ref_rule *rules, int nb_rules, int family,
                           bool want_dst, uint8_t addr[16])
{
    int bits = family == 4 ? 32 : 128;
    const struct ref_rule *r = &rules[rng_below(nb_rules)];
    bool has = want_dst ? r->has_dst : r->has_src;

    if (!has || r->family != family || rng_below(8) == 0) {
        random_base(family, addr);
        return;
    }
    int len = want_dst ? r->dst_len : r->src_len;
    memcpy(addr, want_dst ? r->dst : r->src, 16);
    for (int i = len; i < bits; i++)
        if (rng_below(2))
            flip_bit(addr, i);
    if (len > 0 && rng_below(3) == 0)
        flip_bit(addr, len - 1 - (rng_below(4) == 0 ? rng_below(len) : 0));
}

static int random_port_near(const struct ref_rule *rules, int nb_rules, bool want_dport)
{
    const struct ref_rule *r = &rules[rng_below(nb_rules)];
    bool has = want_dport ? r->has_dport : r->has_sport;
    int lo = want_dport ? r->dport_lo : r->sport_lo;
    int hi = want_dport ? r->dport_hi : r->sport_hi;
    int p;

    if (!has)
        return random_port();
    switch (rng_below(5)) {
    case 0: p = lo - 1; break;
    case 1: p = lo; break;
    case 2: p = hi; break;
    case 3: p = hi + 1; break;
    default: p = lo + rng_below(hi - lo + 1); break;
    }
    return p < 0 ? 0 : p > 65535 ? 65535 : p;
}

static void random_packet(const struct ref_rule *rules, int nb_rules, struct ref_packet *p)
{
    static const int protos[] = {6, 6, 17, 17, 1, 58, 47};

    memset(p, 0, sizeof(*p));
    p->family = rng_below(2) ? 4 : 6;
    p->proto = protos[rng_below(7)];
    random_address(rules, nb_rules, p->family, false, p->src);
    random_address(rules, nb_rules, p->family, true, p->dst);
    /* TCP/UDP carry ports unless a non-first fragment (1 in 6 here). */
    p->has_ports = (p->proto == 6 || p->proto == 17) && rng_below(6) != 0;
    if (p->has_ports) {
        p->sport = random_port_near(rules, nb_rules, false);
        p->dport = random_port_near(rules, nb_rules, true);
    }
}

static struct acl_key to_key(const struct ref_packet *p)
{
    struct acl_key k = {
        .family = (uint8_t)p->family,
        .proto = (uint8_t)p->proto,
        .has_ports = p->has_ports,
        .sport = (uint16_t)p->sport,
        .dport = (uint16_t)p->dport,
    };
    memcpy(k.src, p->src, 16);
    memcpy(k.dst, p->dst, 16);
    /* An IPv4 key's unused bytes hold junk: the matcher must not read them. */
    if (p->family == 4) {
        memset(k.src + 4, 0xa5, 12);
        memset(k.dst + 4, 0x5a, 12);
    }
    return k;
}

#define NB_RULE_SETS       60
#define PACKETS_PER_SET    2000
#define MAX_RANDOM_RULES   ACL_MAX_RULES

/* Sizes that cross a 64-rule word of the classifier's sets, and small ones. */
static int random_rule_count(int set)
{
    static const int edges[] = {1, 2, 63, 64, 65, 127, 128, 129, 255, 256};

    if (set < 10)
        return edges[set];
    return set % 3 == 0 ? 1 + rng_below(MAX_RANDOM_RULES) : 1 + rng_below(40);
}

/* Classifies every packet both ways: by the scan, then with the classifier
 * built over the same rules. Each must agree with the reference and count
 * the same hits. */
Test(acl, matches_the_reference_on_random_rules_and_edge_packets)
{
    static struct ref_rule rules[MAX_RANDOM_RULES];
    static struct ref_packet packets[PACKETS_PER_SET];
    uint64_t ref_hits[MAX_RANDOM_RULES + 1];
    char text[256];
    unsigned long nb_rule_hits = 0, nb_default = 0, nb_packets = 0;

    rng_state = 0xac1;
    for (int set = 0; set < NB_RULE_SETS; set++) {
        int nb_rules = random_rule_count(set);
        acl_init(&acl);
        if (rng_below(2))
            cr_assert_eq(parse_line("default deny", 1), 0);
        for (int i = 0; i < nb_rules; i++) {
            random_rule(&rules[i]);
            ref_rule_text(&rules[i], text, sizeof(text));
            cr_assert_eq(parse_line(text, (uint32_t)i + 2), 0, "\"%s\": %s", text, why);
        }
        memset(ref_hits, 0, sizeof(ref_hits));
        for (int i = 0; i < PACKETS_PER_SET; i++) {
            random_packet(rules, nb_rules, &packets[i]);
            int want = ref_classify(rules, nb_rules, &packets[i]);
            ref_hits[want >= 0 ? want : nb_rules]++;
            nb_rule_hits += want >= 0;
            nb_default += want < 0;
            nb_packets++;
        }
        size_t bytes = acl_mem_bytes(acl.nb_rules);
        void *mem = malloc(bytes);
        cr_assert_not_null(mem);
        for (int built = 0; built < 2; built++) {
            const char *how = built ? "classifier" : "scan";
            if (built)
                cr_assert_eq(acl_build(&acl, mem, bytes), 0);
            cr_assert_eq(acl.classifier != NULL, built);
            for (int i = 0; i < nb_rules; i++)
                acl.rules[i].hits = 0;
            acl.default_hits = 0;
            for (int i = 0; i < PACKETS_PER_SET; i++) {
                struct acl_key k = to_key(&packets[i]);
                int want = ref_classify(rules, nb_rules, &packets[i]);
                int got = acl_classify(&acl, &k);
                cr_assert_eq(got, want, "%s, set %d (%d rules) packet %d: rule %d, reference "
                             "says %d", how, set, nb_rules, i, got, want);
                bool want_deny = want >= 0 ? rules[want].deny : acl.default_action == ACL_DENY;
                cr_assert_eq(acl_match(&acl, &k) == ACL_DENY, want_deny);
            }
            for (int i = 0; i < nb_rules; i++)
                cr_assert_eq(acl.rules[i].hits, ref_hits[i], "%s, set %d rule %d", how, set, i);
            cr_assert_eq(acl.default_hits, ref_hits[nb_rules], "%s, set %d default", how, set);
        }
        free(mem);
    }
    cr_assert_eq(nb_packets, NB_RULE_SETS * PACKETS_PER_SET);
    /* The packets must exercise both outcomes, or the test proves little. */
    cr_assert_gt(nb_rule_hits, nb_packets / 5);
    cr_assert_gt(nb_default, nb_packets / 20);
}

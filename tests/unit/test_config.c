/*
 * Tests for net/config.c, the pktmetal.conf parser.
 *
 * Every directive's accepted forms, every error with its exact message and
 * line number, and the line-level rules (comments, blanks, tabs, CRLF, no
 * final newline, NUL bytes, long lines). Errors are compared as whole
 * strings: the message is what a user sees on the serial console when the
 * image refuses its config, so its wording is part of the interface.
 */
#include <criterion/criterion.h>
#include <string.h>

#include "net/config.h"
#include "net/errno.h"

static struct config cfg;
static char err[256];

/* Parses len bytes on top of the defaults, as the image does. */
static int parse_bytes(const char *text, size_t len)
{
    config_defaults(&cfg);
    memset(err, 'x', sizeof(err));
    return config_parse(&cfg, text, len, err, sizeof(err));
}

static int parse(const char *text)
{
    return parse_bytes(text, strlen(text));
}

static void expect_error(const char *text, int want_ret, const char *want_msg)
{
    int ret = parse(text);
    cr_assert_eq(ret, want_ret, "for \"%s\": returned %d, want %d", text, ret, want_ret);
    cr_assert_str_eq(err, want_msg, "for \"%s\"", text);
}

static void expect_ok(const char *text)
{
    int ret = parse(text);
    cr_assert_eq(ret, 0, "for \"%s\": returned %d: %s", text, ret, err);
    cr_assert_str_eq(err, "");
}

/* --- defaults and empty input ---------------------------------------- */

Test(config, defaults_match_the_documented_values)
{
    memset(&cfg, 0xa5, sizeof(cfg));
    config_defaults(&cfg);
    cr_assert_eq(cfg.arena_mb, 64);
    cr_assert_eq(cfg.stats_interval_ms, 1000);
    cr_assert_eq(cfg.selftest_fault, SELFTEST_FAULT_NONE);
    cr_assert_eq(cfg.selftest_wait_ms, 0);
}

Test(config, empty_text_keeps_defaults_and_clears_err)
{
    expect_ok("");
    cr_assert_eq(cfg.arena_mb, 64);
    cr_assert_eq(cfg.stats_interval_ms, 1000);
}

Test(config, parse_leaves_fields_of_absent_directives_untouched)
{
    config_defaults(&cfg);
    cfg.stats_interval_ms = 250;
    cr_assert_eq(config_parse(&cfg, "arena-mb 16", 11, err, sizeof(err)), 0);
    cr_assert_eq(cfg.arena_mb, 16);
    cr_assert_eq(cfg.stats_interval_ms, 250);
}

/* --- arena-mb ------------------------------------------------------------ */

Test(config, arena_mb_accepts_even_values_in_range)
{
    expect_ok("arena-mb 8\n");
    cr_assert_eq(cfg.arena_mb, 8);
    expect_ok("arena-mb 4096\n");
    cr_assert_eq(cfg.arena_mb, 4096);
    expect_ok("arena-mb 128\n");
    cr_assert_eq(cfg.arena_mb, 128);
}

Test(config, arena_mb_accepts_leading_zeros)
{
    expect_ok("arena-mb 0064\n");
    cr_assert_eq(cfg.arena_mb, 64);
}

Test(config, arena_mb_rejects_a_non_number)
{
    expect_error("# size\narena-mb abc\n", -PM_EINVAL,
                 "config:2: arena-mb: 'abc' is not a number");
    expect_error("arena-mb 16MB\n", -PM_EINVAL, "config:1: arena-mb: '16MB' is not a number");
    expect_error("arena-mb 0x40\n", -PM_EINVAL, "config:1: arena-mb: '0x40' is not a number");
}

Test(config, arena_mb_rejects_a_sign)
{
    expect_error("arena-mb -8\n", -PM_EINVAL, "config:1: arena-mb: '-8' is not a number");
    expect_error("arena-mb +8\n", -PM_EINVAL, "config:1: arena-mb: '+8' is not a number");
}

Test(config, arena_mb_rejects_values_out_of_range)
{
    expect_error("\narena-mb 5000\n", -PM_ERANGE, "config:2: arena-mb: 5000 out of range 8..4096");
    expect_error("arena-mb 6\n", -PM_ERANGE, "config:1: arena-mb: 6 out of range 8..4096");
    expect_error("arena-mb 0\n", -PM_ERANGE, "config:1: arena-mb: 0 out of range 8..4096");
    expect_error("arena-mb 4098\n", -PM_ERANGE, "config:1: arena-mb: 4098 out of range 8..4096");
}

Test(config, arena_mb_rejects_an_odd_size)
{
    expect_error("# arena\narena-mb 63\n", -PM_EINVAL,
                 "config:2: arena-mb: 63 must be even (2 MiB pages)");
    expect_error("arena-mb 9\n", -PM_EINVAL, "config:1: arena-mb: 9 must be even (2 MiB pages)");
}

Test(config, numeric_overflow_is_out_of_range_not_wrapped)
{
    expect_error("arena-mb 99999999999999999999\n", -PM_ERANGE,
                 "config:1: arena-mb: 99999999999999999999 out of range 8..4096");
    /* 2^32 + 8 would be 8 after a 32-bit wrap. */
    expect_error("arena-mb 4294967304\n", -PM_ERANGE,
                 "config:1: arena-mb: 4294967304 out of range 8..4096");
    expect_error("stats-interval-ms 4294967296\n", -PM_ERANGE,
                 "config:1: stats-interval-ms: 4294967296 out of range 10..3600000");
}

Test(config, overlong_digit_string_with_a_letter_is_not_a_number)
{
    expect_error("arena-mb 99999999999999999999x\n", -PM_EINVAL,
                 "config:1: arena-mb: '99999999999999999999x' is not a number");
}

/* --- stats-interval-ms ----------------------------------------------------- */

Test(config, stats_interval_ms_accepts_its_bounds)
{
    expect_ok("stats-interval-ms 10\n");
    cr_assert_eq(cfg.stats_interval_ms, 10);
    expect_ok("stats-interval-ms 3600000\n");
    cr_assert_eq(cfg.stats_interval_ms, 3600000);
    expect_ok("stats-interval-ms 500\n");
    cr_assert_eq(cfg.stats_interval_ms, 500);
}

Test(config, stats_interval_ms_rejects_values_out_of_range)
{
    expect_error("stats-interval-ms 9\n", -PM_ERANGE,
                 "config:1: stats-interval-ms: 9 out of range 10..3600000");
    expect_error("stats-interval-ms 3600001\n", -PM_ERANGE,
                 "config:1: stats-interval-ms: 3600001 out of range 10..3600000");
}

Test(config, stats_interval_ms_rejects_a_non_number)
{
    expect_error("stats-interval-ms 1s\n", -PM_EINVAL,
                 "config:1: stats-interval-ms: '1s' is not a number");
}

/* --- value counts -------------------------------------------------------- */

Test(config, too_many_values_are_counted_in_the_error)
{
    expect_error("\n\n\nstats-interval-ms 100 200\n", -PM_EINVAL,
                 "config:4: stats-interval-ms: expects 1 value, got 2");
}

Test(config, missing_value_is_an_error)
{
    expect_error("arena-mb\n", -PM_EINVAL, "config:1: arena-mb: expects 1 value, got 0");
    expect_error("selftest-fault   # which?\n", -PM_EINVAL,
                 "config:1: selftest-fault: expects 1 value, got 0");
}

Test(config, value_count_includes_tokens_beyond_those_kept)
{
    expect_error("arena-mb 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20\n", -PM_EINVAL,
                 "config:1: arena-mb: expects 1 value, got 20");
}

/* --- selftest-fault and selftest-wait-ms ------------------------------------ */

Test(config, selftest_fault_accepts_each_fault)
{
    expect_ok("selftest-fault page\n");
    cr_assert_eq(cfg.selftest_fault, SELFTEST_FAULT_PAGE);
    expect_ok("selftest-fault stack\n");
    cr_assert_eq(cfg.selftest_fault, SELFTEST_FAULT_STACK);
    expect_ok("selftest-fault divide\n");
    cr_assert_eq(cfg.selftest_fault, SELFTEST_FAULT_DIVIDE);
    expect_ok("selftest-fault panic\n");
    cr_assert_eq(cfg.selftest_fault, SELFTEST_FAULT_PANIC);
}

Test(config, selftest_fault_rejects_an_unknown_fault_naming_the_choices)
{
    expect_error("selftest-fault foo\n", -PM_EINVAL,
                 "config:1: selftest-fault: 'foo' is not one of page|stack|divide|panic");
}

Test(config, selftest_fault_keywords_are_case_sensitive_and_whole)
{
    expect_error("selftest-fault PAGE\n", -PM_EINVAL,
                 "config:1: selftest-fault: 'PAGE' is not one of page|stack|divide|panic");
    expect_error("selftest-fault pag\n", -PM_EINVAL,
                 "config:1: selftest-fault: 'pag' is not one of page|stack|divide|panic");
    expect_error("selftest-fault pages\n", -PM_EINVAL,
                 "config:1: selftest-fault: 'pages' is not one of page|stack|divide|panic");
}

Test(config, selftest_wait_ms_accepts_its_bounds)
{
    expect_ok("selftest-wait-ms 1\n");
    cr_assert_eq(cfg.selftest_wait_ms, 1);
    expect_ok("selftest-wait-ms 600000\n");
    cr_assert_eq(cfg.selftest_wait_ms, 600000);
}

Test(config, selftest_wait_ms_rejects_zero_and_too_long)
{
    expect_error("selftest-wait-ms 0\n", -PM_ERANGE,
                 "config:1: selftest-wait-ms: 0 out of range 1..600000");
    expect_error("selftest-wait-ms 600001\n", -PM_ERANGE,
                 "config:1: selftest-wait-ms: 600001 out of range 1..600000");
}

/* --- directives as a whole -------------------------------------------------- */

Test(config, all_directives_together)
{
    expect_ok("arena-mb 256\n"
              "stats-interval-ms 250\n"
              "selftest-fault divide\n"
              "selftest-wait-ms 1500\n");
    cr_assert_eq(cfg.arena_mb, 256);
    cr_assert_eq(cfg.stats_interval_ms, 250);
    cr_assert_eq(cfg.selftest_fault, SELFTEST_FAULT_DIVIDE);
    cr_assert_eq(cfg.selftest_wait_ms, 1500);
}

Test(config, unknown_directive_is_named_with_its_line)
{
    expect_error("arena-mb 16\n# comment\narena-gb 1\n", -PM_EINVAL,
                 "config:3: unknown directive 'arena-gb'");
}

Test(config, directive_names_are_case_sensitive_and_whole)
{
    expect_error("Arena-mb 16\n", -PM_EINVAL, "config:1: unknown directive 'Arena-mb'");
    expect_error("arena 16\n", -PM_EINVAL, "config:1: unknown directive 'arena'");
    expect_error("arena-mbx 16\n", -PM_EINVAL, "config:1: unknown directive 'arena-mbx'");
}

Test(config, directive_given_twice_names_the_first_line)
{
    expect_error("arena-mb 16\n\n# again:\n\narena-mb 32\n", -PM_EEXIST,
                 "config:5: arena-mb given twice (first on line 1)");
    expect_error("selftest-fault page\nselftest-fault page\n", -PM_EEXIST,
                 "config:2: selftest-fault given twice (first on line 1)");
}

Test(config, first_error_stops_the_parse_and_keeps_earlier_values)
{
    expect_error("arena-mb 16\nbogus\nstats-interval-ms 5\n", -PM_EINVAL,
                 "config:2: unknown directive 'bogus'");
    cr_assert_eq(cfg.arena_mb, 16);
    cr_assert_eq(cfg.stats_interval_ms, 1000);
}

/* --- line rules ------------------------------------------------------------ */

Test(config, whole_line_and_indented_comments_are_ignored)
{
    expect_ok("# pktmetal.conf\n   # indented\n\t# tabbed\n#arena-mb 9\n");
    cr_assert_eq(cfg.arena_mb, 64);
}

Test(config, trailing_comment_is_ignored)
{
    expect_ok("arena-mb 32 # room for 16k buffers\n");
    cr_assert_eq(cfg.arena_mb, 32);
}

Test(config, comment_may_touch_the_last_token)
{
    expect_ok("arena-mb 32#no space\n");
    cr_assert_eq(cfg.arena_mb, 32);
}

Test(config, blank_and_whitespace_only_lines_are_ignored)
{
    expect_ok("\n\n   \n\t\t\n \t \narena-mb 16\n\n");
    cr_assert_eq(cfg.arena_mb, 16);
}

Test(config, tabs_and_runs_of_spaces_separate_tokens)
{
    expect_ok("\t arena-mb\t\t  24  \t\n");
    cr_assert_eq(cfg.arena_mb, 24);
}

Test(config, crlf_line_endings_are_accepted)
{
    expect_ok("# dos\r\narena-mb 16\r\n\r\nstats-interval-ms 20\r\n");
    cr_assert_eq(cfg.arena_mb, 16);
    cr_assert_eq(cfg.stats_interval_ms, 20);
}

Test(config, crlf_errors_report_the_right_line_without_the_cr)
{
    expect_error("arena-mb 16\r\n\r\nstats-interval-ms x\r\n", -PM_EINVAL,
                 "config:3: stats-interval-ms: 'x' is not a number");
}

Test(config, last_line_without_newline_is_parsed)
{
    expect_ok("arena-mb 16\nstats-interval-ms 20");
    cr_assert_eq(cfg.stats_interval_ms, 20);
    expect_ok("arena-mb 18\r");
    cr_assert_eq(cfg.arena_mb, 18);
}

Test(config, text_is_read_only_up_to_len)
{
    /* "arena-mb 16" then bytes the parser must not look at. */
    const char text[] = "arena-mb 16XYZ";
    cr_assert_eq(parse_bytes(text, 11), 0);
    cr_assert_eq(cfg.arena_mb, 16);
}

Test(config, nul_byte_is_an_error_with_its_line)
{
    const char text[] = "arena-mb 16\narena\0-mb 32\n";
    cr_assert_eq(parse_bytes(text, sizeof(text) - 1), -PM_EINVAL);
    cr_assert_str_eq(err, "config:2: NUL byte in line");
}

Test(config, nul_byte_in_a_comment_is_still_an_error)
{
    const char text[] = "# note\0\n";
    cr_assert_eq(parse_bytes(text, sizeof(text) - 1), -PM_EINVAL);
    cr_assert_str_eq(err, "config:1: NUL byte in line");
}

Test(config, control_character_is_an_error)
{
    expect_error("arena-mb 16\x1b[0m\n", -PM_EINVAL, "config:1: control character 0x1b in line");
    expect_error("arena-mb\r16\n", -PM_EINVAL, "config:1: control character 0x0d in line");
}

Test(config, line_of_255_characters_is_accepted)
{
    char text[300];
    strcpy(text, "arena-mb 16 #");
    size_t n = strlen(text);
    memset(text + n, 'c', 255 - n);
    strcpy(text + 255, "\r\n");
    expect_ok(text);
    cr_assert_eq(cfg.arena_mb, 16);
}

Test(config, line_longer_than_255_characters_is_an_error)
{
    char text[300];
    strcpy(text, "arena-mb 16\n# ");
    size_t start = strlen("arena-mb 16\n");
    memset(text + start + 2, 'c', 254);
    strcpy(text + start + 256, "\n");
    expect_error(text, -PM_EINVAL, "config:2: line longer than 255 characters");
}

/* --- the error buffer ----------------------------------------------------- */

Test(config, small_err_buffer_is_truncated_and_terminated)
{
    char small[12];
    config_defaults(&cfg);
    memset(small, 'x', sizeof(small));
    cr_assert_eq(config_parse(&cfg, "arena-gb 1\n", 11, small, sizeof(small)), -PM_EINVAL);
    cr_assert_str_eq(small, "config:1: u");
}

Test(config, err_buffer_shorter_than_the_prefix_is_terminated)
{
    char tiny[4];
    config_defaults(&cfg);
    cr_assert_eq(config_parse(&cfg, "bogus\n", 6, tiny, sizeof(tiny)), -PM_EINVAL);
    cr_assert_str_eq(tiny, "con");
}

Test(config, null_err_buffer_with_zero_size_is_allowed)
{
    config_defaults(&cfg);
    cr_assert_eq(config_parse(&cfg, "bogus\n", 6, NULL, 0), -PM_EINVAL);
    cr_assert_eq(config_parse(&cfg, "arena-mb 16\n", 12, NULL, 0), 0);
    cr_assert_eq(cfg.arena_mb, 16);
}

/* --- packet I/O directives: mode, rx-ring, tx-ring, port N peer-mac -------- */

Test(config, packet_io_defaults_are_l2fwd_with_512_slot_rings)
{
    config_defaults(&cfg);
    cr_assert_eq(cfg.mode, CONFIG_MODE_L2FWD);
    cr_assert_eq(cfg.rx_ring, 512);
    cr_assert_eq(cfg.tx_ring, 512);
    for (int i = 0; i < CONFIG_MAX_PORTS; i++)
        cr_assert(!cfg.ports[i].has_peer_mac);
}

Test(config, mode_accepts_l2fwd_and_reflect)
{
    expect_ok("mode reflect\n");
    cr_assert_eq(cfg.mode, CONFIG_MODE_REFLECT);
    expect_ok("mode l2fwd\n");
    cr_assert_eq(cfg.mode, CONFIG_MODE_L2FWD);
}

Test(config, mode_rejects_unknown_word_naming_the_choices)
{
    expect_error("\nmode hub\n", -PM_EINVAL, "config:2: mode: 'hub' is not one of l2fwd|reflect|bridge|router");
}

Test(config, ring_sizes_accept_powers_of_two_in_range)
{
    expect_ok("rx-ring 64\ntx-ring 4096\n");
    cr_assert_eq(cfg.rx_ring, 64);
    cr_assert_eq(cfg.tx_ring, 4096);
}

Test(config, ring_size_rejects_non_power_of_two_and_out_of_range)
{
    expect_error("rx-ring 500\n", -PM_EINVAL, "config:1: rx-ring: 500 is not a power of two");
    expect_error("tx-ring 32\n", -PM_ERANGE, "config:1: tx-ring: 32 out of range 64..4096");
    expect_error("tx-ring 8192\n", -PM_ERANGE, "config:1: tx-ring: 8192 out of range 64..4096");
}

Test(config, port_peer_mac_sets_that_port_only)
{
    expect_ok("port 1 peer-mac 02:00:00:aB:cd:EF\n");
    cr_assert(cfg.ports[1].has_peer_mac);
    cr_assert(!cfg.ports[0].has_peer_mac);
    const uint8_t want[6] = { 0x02, 0, 0, 0xab, 0xcd, 0xef };
    cr_assert_arr_eq(cfg.ports[1].peer_mac, want, 6);
}

Test(config, port_lines_may_repeat_for_different_ports)
{
    expect_ok("port 0 peer-mac 02:00:00:00:00:01\nport 7 peer-mac 02:00:00:00:00:02\n");
    cr_assert(cfg.ports[0].has_peer_mac && cfg.ports[7].has_peer_mac);
}

Test(config, port_errors_name_the_problem)
{
    expect_error("port 8 peer-mac 02:00:00:00:00:01\n", -PM_ERANGE,
                 "config:1: port: 8 out of range 0..7");
    expect_error("port 0 colour blue\n", -PM_EINVAL,
                 "config:1: port: 'colour' is not one of peer-mac|ip|role");
    expect_error("port 0 peer-mac 02:00:00:00:00\n", -PM_EINVAL,
                 "config:1: port: '02:00:00:00:00' is not a MAC address (xx:xx:xx:xx:xx:xx)");
    expect_error("port 0 peer-mac 02-00-00-00-00-01\n", -PM_EINVAL,
                 "config:1: port: '02-00-00-00-00-01' is not a MAC address (xx:xx:xx:xx:xx:xx)");
    expect_error("port 0 peer-mac 0g:00:00:00:00:01\n", -PM_EINVAL,
                 "config:1: port: '0g:00:00:00:00:01' is not a MAC address (xx:xx:xx:xx:xx:xx)");
    expect_error("port 0 peer-mac\n", -PM_EINVAL, "config:1: port 0 peer-mac: expects 1 value, got 0");
    expect_error("port 0\n", -PM_EINVAL, "config:1: port: expects 2..8 values, got 1");
    expect_error("port 2 peer-mac 02:00:00:00:00:01\nport 2 peer-mac 02:00:00:00:00:02\n",
                 -PM_EEXIST, "config:2: port 2 peer-mac given twice");
}

Test(config, virtio_event_idx_is_on_by_default_and_switchable)
{
    config_defaults(&cfg);
    cr_assert(cfg.virtio_event_idx);
    expect_ok("virtio-event-idx off\n");
    cr_assert(!cfg.virtio_event_idx);
    expect_error("virtio-event-idx maybe\n", -PM_EINVAL,
                 "config:1: virtio-event-idx: 'maybe' is not one of on|off");
}

/* --- processing directives: modes, port ip, route, neighbor, bridge, acl --- */

Test(config, mode_accepts_bridge_and_router)
{
    expect_ok("mode bridge\n");
    cr_assert_eq(cfg.mode, CONFIG_MODE_BRIDGE);
    expect_ok("port 0 ip 10.0.0.1/24\nmode router\n");
    cr_assert_eq(cfg.mode, CONFIG_MODE_ROUTER);
}

Test(config, router_mode_without_any_port_address_is_refused_at_the_mode_line)
{
    expect_error("# r\nmode router\n", -PM_EINVAL,
                 "config:2: mode router needs at least one 'port N ip A.B.C.D/LEN'");
}

Test(config, port_ip_keeps_address_and_prefix_length)
{
    expect_ok("port 1 ip 192.168.7.254/23\n");
    cr_assert(cfg.ports[1].has_ip);
    cr_assert_eq(cfg.ports[1].ip, 0xc0a807feu);
    cr_assert_eq(cfg.ports[1].ip_len, 23);
    cr_assert_eq(cfg.ports[1].ip_line, 1);
}

Test(config, port_ip_errors_name_the_problem)
{
    expect_error("port 0 ip 10.0.0.1\n", -PM_EINVAL,
                 "config:1: port 0 ip: '10.0.0.1' is not A.B.C.D/LEN");
    expect_error("port 0 ip 10.0.0.0/24\n", -PM_EINVAL,
                 "config:1: port 0 ip: '10.0.0.0/24' is the network or broadcast address");
    expect_error("port 0 ip 10.0.0.255/24\n", -PM_EINVAL,
                 "config:1: port 0 ip: '10.0.0.255/24' is the network or broadcast address");
    expect_error("port 0 ip 10.0.0.1/32\n", -PM_EINVAL,
                 "config:1: port 0 ip: '10.0.0.1/32': prefix length must be 1..31 (it is a network)");
    expect_error("port 0 ip 10.0.0.1/24\nport 0 ip 10.0.1.1/24\n", -PM_EEXIST,
                 "config:2: port 0 ip given twice (first on line 1)");
}

Test(config, overlapping_port_networks_are_refused_with_both_lines)
{
    expect_error("port 0 ip 10.0.0.1/16\n\nport 1 ip 10.0.200.1/24\n", -PM_EINVAL,
                 "config:3: port 1 ip overlaps port 0's network 10.0.0.0/16 (line 1)");
}

Test(config, routes_and_default_route_are_kept_in_order)
{
    expect_ok("port 0 ip 10.0.0.1/24\nroute 172.16.0.0/12 via 10.0.0.2\nroute default via 10.0.0.3\n");
    cr_assert_eq(cfg.nb_routes, 2);
    cr_assert_eq(cfg.routes[0].prefix, 0xac100000u);
    cr_assert_eq(cfg.routes[0].len, 12);
    cr_assert_eq(cfg.routes[0].gw, 0x0a000002u);
    cr_assert_eq(cfg.routes[1].len, 0);
    cr_assert_eq(cfg.routes[1].line, 3);
}

Test(config, route_errors_name_the_problem)
{
    expect_error("route 10.1.0.1/16 via 10.0.0.2\n", -PM_EINVAL,
                 "config:1: route: '10.1.0.1/16' is not a prefix A.B.C.D/LEN with no host bits set");
    expect_error("route 10.1.0.0/16 through 10.0.0.2\n", -PM_EINVAL,
                 "config:1: route: expected 'via', got 'through'");
    expect_error("route 10.1.0.0/16 via ten\n", -PM_EINVAL,
                 "config:1: route: next hop 'ten' is not an IPv4 address");
    expect_error("port 0 ip 10.0.0.1/24\nroute 10.1.0.0/16 via 10.0.0.2\nroute 10.1.0.0/16 via 10.0.0.3\n",
                 -PM_EEXIST, "config:3: route: 10.1.0.0/16 given twice (first on line 2)");
}

Test(config, next_hop_off_every_connected_network_is_refused_at_its_line)
{
    expect_error("port 0 ip 10.0.0.1/24\n\nroute default via 10.9.9.9\n", -PM_EINVAL,
                 "config:3: route: next hop 10.9.9.9 is not on any connected network (port N ip)");
}

Test(config, static_neighbors_need_a_connected_network)
{
    expect_ok("port 0 ip 10.0.0.1/24\nneighbor 10.0.0.9 02:00:00:00:00:09\n");
    cr_assert_eq(cfg.nb_neighbors, 1);
    cr_assert_eq(cfg.neighbors[0].ip, 0x0a000009u);
    expect_error("port 0 ip 10.0.0.1/24\nneighbor 10.0.1.9 02:00:00:00:00:09\n", -PM_EINVAL,
                 "config:2: neighbor: 10.0.1.9 is not on any connected network (port N ip)");
    expect_error("neighbor 10.0.0.9 02:00:00:00:09\n", -PM_EINVAL,
                 "config:1: neighbor: '02:00:00:00:09' is not a MAC address (xx:xx:xx:xx:xx:xx)");
}

Test(config, bridge_settings)
{
    config_defaults(&cfg);
    cr_assert_eq(cfg.bridge_age_s, 300);
    cr_assert(!cfg.bridge_vlan);
    expect_ok("bridge-age-s 30\nbridge-vlan on\n");
    cr_assert_eq(cfg.bridge_age_s, 30);
    cr_assert(cfg.bridge_vlan);
    expect_error("bridge-age-s 0\n", -PM_ERANGE, "config:1: bridge-age-s: 0 out of range 1..86400");
}

Test(config, icmp_rates_default_to_the_routers_and_can_be_set)
{
    config_defaults(&cfg);
    cr_assert_eq(cfg.icmp_rate, 100);
    cr_assert_eq(cfg.icmp_echo_rate, 1000);
    expect_ok("icmp-rate 1\nicmp-echo-rate 1000000\n");
    cr_assert_eq(cfg.icmp_rate, 1);
    cr_assert_eq(cfg.icmp_echo_rate, 1000000);
    expect_ok("icmp-echo-rate 20\n");
    cr_assert_eq(cfg.icmp_rate, 100, "the other rate keeps its default");
    cr_assert_eq(cfg.icmp_echo_rate, 20);
    expect_error("icmp-rate 0\n", -PM_ERANGE, "config:1: icmp-rate: 0 out of range 1..1000000");
    expect_error("\nicmp-echo-rate 1000001\n", -PM_ERANGE,
                 "config:2: icmp-echo-rate: 1000001 out of range 1..1000000");
    expect_error("icmp-rate fast\n", -PM_EINVAL, "config:1: icmp-rate: 'fast' is not a number");
    expect_error("icmp-rate 10\nicmp-rate 20\n", -PM_EEXIST,
                 "config:2: icmp-rate given twice (first on line 1)");
}

Test(config, acl_lines_become_rules_in_order_and_errors_get_the_line)
{
    expect_ok("acl deny proto tcp dport 22\nacl allow src 10.0.0.0/8\nacl default deny\n");
    cr_assert_eq(cfg.acl.nb_rules, 2);
    cr_assert_eq(cfg.acl.rules[0].action, ACL_DENY);
    cr_assert_eq(cfg.acl.rules[1].line, 2);
    cr_assert_eq(cfg.acl.default_action, ACL_DENY);
    int ret = parse("\nacl deny sport 22\n");
    cr_assert_lt(ret, 0);
    cr_assert(strncmp(err, "config:2: acl: ", 15) == 0, "got '%s'", err);
}

Test(config, one_port_may_have_the_capture_role)
{
    expect_ok("port 2 role capture\n");
    cr_assert(cfg.ports[2].is_capture);
    expect_error("port 2 role capture\nport 3 role capture\n", -PM_EEXIST,
                 "config:2: port 3 role capture: port 2 already is");
    expect_error("port 2 role mirror\n", -PM_EINVAL,
                 "config:1: port 2 role: 'mirror' is not one of capture");
    expect_error("port 2 role capture\nport 2 ip 10.0.0.1/24\n", -PM_EINVAL,
                 "config:2: port 2 has role capture and cannot have an address");
}

Test(config, idle_settings_default_and_check_their_order)
{
    config_defaults(&cfg);
    cr_assert(cfg.idle_halt);
    cr_assert_eq(cfg.idle_polls, 200);
    cr_assert_eq(cfg.idle_min_us, 10);
    cr_assert_eq(cfg.idle_max_us, 100);
    expect_ok("idle-halt off\nidle-polls 50\nidle-min-us 5\nidle-max-us 500\n");
    cr_assert(!cfg.idle_halt);
    cr_assert_eq(cfg.idle_max_us, 500);
    expect_error("idle-max-us 20\nidle-min-us 40\n", -PM_EINVAL,
                 "config:2: idle-min-us 40 is above idle-max-us 20");
}

/* config_check_ports: the checks that need the number of NICs found. */
static void expect_ports_error(const char *text, unsigned nb_nics, const char *want_msg)
{
    expect_ok(text);
    char why[256];
    cr_assert_eq(config_check_ports(&cfg, nb_nics, why, sizeof(why)), -PM_EINVAL,
                 "%s with %u NICs should be refused", text, nb_nics);
    cr_assert_str_eq(why, want_msg);
}

Test(config, a_port_line_must_name_a_nic_that_was_found)
{
    expect_ports_error("mode l2fwd\nport 0 peer-mac 02:00:00:00:00:01\n"
                       "port 2 peer-mac 02:00:00:00:00:02\nport 2 ip 10.0.0.1/24\n", 2,
                       "config:3: port 2: only 2 NICs found (ports 0..1)");
    expect_ports_error("port 1 ip 10.0.0.1/24\n", 1, "config:1: port 1: only 1 NIC found (port 0)");
    expect_ports_error("port 0 ip 10.0.0.1/24\n", 0, "config:1: port 0: no NIC was found");
    char why[64] = "untouched";
    cr_assert_eq(config_check_ports(&cfg, 1, why, sizeof(why)), 0, "port 0 with one NIC is fine");
}

Test(config, the_capture_port_must_be_the_last_nic)
{
    expect_ports_error("port 0 peer-mac 02:00:00:00:00:01\nport 0 role capture\n", 2,
                       "config:2: port 0 role capture: the capture port must be the last port (1)");
    char why[64];
    cr_assert_eq(config_check_ports(&cfg, 1, why, sizeof(why)), 0);
}

Test(config, no_port_lines_fit_any_number_of_nics)
{
    expect_ok("mode l2fwd\n");
    cr_assert_eq(config_check_ports(&cfg, 0, NULL, 0), 0);
    cr_assert_eq(config_check_ports(&cfg, 8, NULL, 0), 0);
}

Test(config, idle_wake_max_us_defaults_to_2000_and_0_means_the_timer_only)
{
    config_defaults(&cfg);
    cr_assert_eq(cfg.idle_wake_max_us, 2000);
    expect_ok("idle-wake-max-us 5000\nidle-max-us 50\n");
    cr_assert_eq(cfg.idle_wake_max_us, 5000);
    cr_assert_eq(cfg.idle_max_us, 50, "the timer-only back-off is set on its own");
    expect_ok("idle-wake-max-us 0\n");
    cr_assert_eq(cfg.idle_wake_max_us, 0);
    expect_error("idle-wake-max-us 100001\n", -PM_ERANGE,
                 "config:1: idle-wake-max-us: 100001 out of range 0..100000");
    expect_error("idle-wake-max-us 2ms\n", -PM_EINVAL,
                 "config:1: idle-wake-max-us: '2ms' is not a number");
    expect_error("idle-wake-max-us 100\nidle-wake-max-us 200\n", -PM_EEXIST,
                 "config:2: idle-wake-max-us given twice (first on line 1)");
}

Test(config, idle_batch_takes_frames_and_an_optional_wait_or_off)
{
    config_defaults(&cfg);
    cr_assert_eq(cfg.idle_batch, 0, "off unless asked for");
    cr_assert_eq(cfg.idle_batch_us, 100);
    expect_ok("idle-batch 16 250\n");
    cr_assert_eq(cfg.idle_batch, 16);
    cr_assert_eq(cfg.idle_batch_us, 250);
    expect_ok("idle-batch 32\n");
    cr_assert_eq(cfg.idle_batch, 32);
    cr_assert_eq(cfg.idle_batch_us, 100, "the wait keeps its default when left out");
    expect_ok("idle-batch off\n");
    cr_assert_eq(cfg.idle_batch, 0);
    expect_ok("idle-batch 0 50\n");
    cr_assert_eq(cfg.idle_batch, 0, "0 frames is off too");
    expect_ok("idle-batch 128 10000\n");
    cr_assert_eq(cfg.idle_batch, CONFIG_IDLE_BATCH_MAX);
    cr_assert_eq(cfg.idle_batch_us, CONFIG_IDLE_BATCH_US_MAX);
}

Test(config, idle_batch_rejects_bad_values_with_a_clear_message)
{
    expect_error("idle-batch 129\n", -PM_ERANGE, "config:1: idle-batch: 129 out of range 0..128");
    expect_error("idle-batch 16 0\n", -PM_ERANGE, "config:1: idle-batch: 0 out of range 1..10000");
    expect_error("idle-batch 16 10001\n", -PM_ERANGE,
                 "config:1: idle-batch: 10001 out of range 1..10000");
    expect_error("idle-batch 16 50us\n", -PM_EINVAL, "config:1: idle-batch: '50us' is not a number");
    expect_error("idle-batch on\n", -PM_EINVAL,
                 "config:1: idle-batch: 'on' is neither off nor a number of frames");
    expect_error("idle-batch off 100\n", -PM_EINVAL,
                 "config:1: idle-batch off takes no wait, got '100'");
    expect_error("idle-batch\n", -PM_EINVAL, "config:1: idle-batch: expects 1..2 values, got 0");
    expect_error("idle-batch 8 100 5\n", -PM_EINVAL,
                 "config:1: idle-batch: expects 1..2 values, got 3");
    expect_error("idle-batch 8\nidle-batch off\n", -PM_EEXIST,
                 "config:2: idle-batch given twice (first on line 1)");
}

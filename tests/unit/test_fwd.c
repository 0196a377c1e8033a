/*
 * Tests for net/fwd.c: where l2fwd and reflect send a frame, and how they
 * rewrite its Ethernet addresses.
 */
#include <criterion/criterion.h>
#include <string.h>

#include "net/fwd.h"

Test(fwd, l2fwd_pairs_even_and_odd_ports)
{
    cr_assert_eq(fwd_out_port(CONFIG_MODE_L2FWD, 0, 2), 1);
    cr_assert_eq(fwd_out_port(CONFIG_MODE_L2FWD, 1, 2), 0);
    cr_assert_eq(fwd_out_port(CONFIG_MODE_L2FWD, 2, 4), 3);
    cr_assert_eq(fwd_out_port(CONFIG_MODE_L2FWD, 3, 4), 2);
}

Test(fwd, l2fwd_unpaired_last_port_has_no_output)
{
    cr_assert_eq(fwd_out_port(CONFIG_MODE_L2FWD, 2, 3), FWD_NO_PORT);
    cr_assert_eq(fwd_out_port(CONFIG_MODE_L2FWD, 0, 1), FWD_NO_PORT);
}

Test(fwd, reflect_sends_back_out_the_input_port)
{
    cr_assert_eq(fwd_out_port(CONFIG_MODE_REFLECT, 0, 1), 0);
    cr_assert_eq(fwd_out_port(CONFIG_MODE_REFLECT, 3, 4), 3);
}

Test(fwd, input_port_out_of_range_has_no_output)
{
    cr_assert_eq(fwd_out_port(CONFIG_MODE_REFLECT, 4, 4), FWD_NO_PORT);
}

Test(fwd, peer_mac_comes_from_config_else_dpdk_default)
{
    struct config cfg;
    uint8_t mac[6];
    config_defaults(&cfg);
    cfg.ports[1].has_peer_mac = true;
    memcpy(cfg.ports[1].peer_mac, "\x52\x54\x00\xaa\xbb\xcc", 6);
    fwd_peer_mac(&cfg, 1, mac);
    cr_assert_arr_eq(mac, "\x52\x54\x00\xaa\xbb\xcc", 6);
    fwd_peer_mac(&cfg, 3, mac);
    cr_assert_arr_eq(mac, "\x02\x00\x00\x00\x00\x03", 6);
}

Test(fwd, l2fwd_rewrite_sets_dst_to_peer_and_src_to_out_port_and_keeps_payload)
{
    uint8_t frame[64];
    for (int i = 0; i < 64; i++)
        frame[i] = (uint8_t)i;
    fwd_rewrite_l2fwd(frame, (const uint8_t *)"\x52\x54\x00\x00\x00\x11",
                      (const uint8_t *)"\x02\x00\x00\x00\x00\x01");
    cr_assert_arr_eq(frame, "\x02\x00\x00\x00\x00\x01\x52\x54\x00\x00\x00\x11", 12);
    for (int i = 12; i < 64; i++)
        cr_assert_eq(frame[i], i);
}

Test(fwd, reflect_swaps_source_and_destination)
{
    uint8_t frame[14] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 0x08, 0x00 };
    fwd_rewrite_reflect(frame);
    const uint8_t want[14] = { 7, 8, 9, 10, 11, 12, 1, 2, 3, 4, 5, 6, 0x08, 0x00 };
    cr_assert_arr_eq(frame, want, 14);
}

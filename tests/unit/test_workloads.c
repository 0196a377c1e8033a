/*
 * Tests for tools/bench/workloads.c: the benchmark generators reproduce
 * every CHECK fingerprint of WORKLOADS.md (routes, addresses, table shape,
 * lookup results, checksum values, packet template), so pktmetal and DPDK
 * are measured on the data the reference was measured on. Lookup results
 * come from net/lpm.c, which these tests thereby also pin against the
 * reference. Nothing here is timed.
 */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "net/csum.h"
#include "net/lpm.h"
#include "tools/bench/workloads.h"

#define CG_LOOKUPS   (1u << 20)      /* the callgrind run's address count */
#define FULL_LOOKUPS 10000000u
#define PIPE_PKTS    8192u

struct table_ref {
    uint32_t n;
    uint64_t routes_fnv;
    uint32_t hist[17];               /* /16 .. /32 */
    uint32_t tbl8_groups;
    uint64_t addrs_fnv_full, addrs_fnv_cg;
    uint64_t hits_cg, nh_sum_cg;
    uint64_t pipeline_nh_sum;        /* one pass over the first 8192 addresses */
};

static const struct table_ref ref_1k = {
    1000, 0x52717b122dc02dd5ull,
    { 24, 41, 23, 25, 27, 28, 62, 63, 611, 7, 11, 9, 12, 15, 14, 16, 12 },
    96, 0x5a47c969d3aa8e2cull, 0xb51204861ca92077ull, 523925, 69008410, 543088,
};

static const struct table_ref ref_100k = {
    100000, 0xfd7482a0cb4f0d9full,
    { 2989, 2938, 2942, 2985, 2903, 2942, 6037, 6022, 60212, 1249, 1263, 1202, 1318, 1283,
      1217, 1290, 1208 },
    10028, 0xe846b4aad24579cbull, 0x92fc7d8817f30845ull, 524373, 66874457, 511532,
};

static void check_routes(const struct table_ref *ref)
{
    struct wl_route *routes = wl_gen_routes(ref->n, WL_ROUTE_SEED);
    uint32_t hist[33];

    cr_assert_not_null(routes);
    cr_expect_eq(wl_routes_fnv(routes, ref->n), ref->routes_fnv, "routes_fnv %016llx",
                 (unsigned long long)wl_routes_fnv(routes, ref->n));
    wl_len_histogram(routes, ref->n, hist);
    for (unsigned len = 0; len < 16; len++)
        cr_expect_eq(hist[len], 0, "no prefix shorter than /16 (/%u)", len);
    for (unsigned len = 16; len <= 32; len++)
        cr_expect_eq(hist[len], ref->hist[len - 16], "/%u: %u routes", len, hist[len]);
    cr_expect_eq(wl_tbl8_groups(routes, ref->n), ref->tbl8_groups);
    free(routes);
}

Test(workloads, routes_1k_match_the_reference_fingerprint_and_histogram)
{
    check_routes(&ref_1k);
}

Test(workloads, routes_100k_match_the_reference_fingerprint_and_histogram)
{
    check_routes(&ref_100k);
}

Test(workloads, the_1k_table_is_the_first_1000_routes_of_the_100k_table)
{
    struct wl_route *small = wl_gen_routes(1000, WL_ROUTE_SEED);
    struct wl_route *big = wl_gen_routes(100000, WL_ROUTE_SEED);

    cr_assert(small != NULL && big != NULL);
    cr_expect_eq(wl_routes_fnv(big, 1000), ref_1k.routes_fnv);
    free(small);
    free(big);
}

static struct lpm *build_lpm(const struct wl_route *routes, uint32_t n, void **mem)
{
    size_t bytes = lpm_mem_bytes(n);

    *mem = malloc(bytes);
    cr_assert_not_null(*mem);
    struct lpm *t = lpm_create(*mem, bytes, n);
    cr_assert_not_null(t);
    for (uint32_t i = 0; i < n; i++)
        cr_assert_eq(lpm_add(t, routes[i].addr, routes[i].len, routes[i].nh), 0);
    return t;
}

/* The callgrind stream's hits and next-hop sum, and section 5's per-pass
 * next-hop sum (a miss takes next hop 0), through net/lpm.c. */
static void check_lookups(const struct table_ref *ref)
{
    struct wl_route *routes = wl_gen_routes(ref->n, WL_ROUTE_SEED);
    uint32_t *addrs = wl_gen_addrs(routes, ref->n, CG_LOOKUPS, WL_ADDR_SEED);
    void *mem;
    uint64_t hits = 0, sum = 0, pipe_sum = 0;

    cr_assert(routes != NULL && addrs != NULL);
    cr_expect_eq(wl_addrs_fnv(addrs, CG_LOOKUPS), ref->addrs_fnv_cg, "addrs_fnv %016llx",
                 (unsigned long long)wl_addrs_fnv(addrs, CG_LOOKUPS));
    struct lpm *t = build_lpm(routes, ref->n, &mem);
    for (uint32_t i = 0; i < CG_LOOKUPS; i++) {
        uint32_t nh = 0;
        int rc = lpm_lookup(t, addrs[i], &nh);
        hits += rc == 0;
        sum += rc == 0 ? nh : 0;
        if (i < PIPE_PKTS)
            pipe_sum += rc == 0 ? nh : 0;
    }
    cr_expect_eq(hits, ref->hits_cg, "hits %llu", (unsigned long long)hits);
    cr_expect_eq(sum, ref->nh_sum_cg, "nh_sum %llu", (unsigned long long)sum);
    cr_expect_eq(pipe_sum, ref->pipeline_nh_sum, "pipeline nh_sum %llu",
                 (unsigned long long)pipe_sum);
    free(mem);
    free(addrs);
    free(routes);
}

Test(workloads, lookups_on_the_1k_table_give_the_reference_hits_and_next_hop_sums)
{
    check_lookups(&ref_1k);
}

Test(workloads, lookups_on_the_100k_table_give_the_reference_hits_and_next_hop_sums)
{
    check_lookups(&ref_100k);
}

static void check_full_stream(const struct table_ref *ref)
{
    struct wl_route *routes = wl_gen_routes(ref->n, WL_ROUTE_SEED);
    uint32_t *addrs = wl_gen_addrs(routes, ref->n, FULL_LOOKUPS, WL_ADDR_SEED);

    cr_assert(routes != NULL && addrs != NULL);
    cr_expect_eq(wl_addrs_fnv(addrs, FULL_LOOKUPS), ref->addrs_fnv_full);
    /* Prefix-stable: the short stream is the start of the long one. */
    cr_expect_eq(wl_addrs_fnv(addrs, CG_LOOKUPS), ref->addrs_fnv_cg);
    free(addrs);
    free(routes);
}

Test(workloads, the_10m_address_streams_match_the_reference_fingerprints, .timeout = 60)
{
    check_full_stream(&ref_1k);
    check_full_stream(&ref_100k);
}

Test(workloads, misses_fall_in_blocks_no_route_overlaps)
{
    struct wl_route *routes = wl_gen_routes(1000, WL_ROUTE_SEED);
    uint32_t *addrs = wl_gen_addrs(routes, 1000, 4096, WL_ADDR_SEED);
    void *mem;

    cr_assert(routes != NULL && addrs != NULL);
    struct lpm *t = build_lpm(routes, 1000, &mem);
    for (uint32_t i = 0; i < 4096; i++) {
        uint32_t nh;
        if (lpm_lookup(t, addrs[i], &nh) == 0)
            continue;
        for (uint32_t k = 0; k < 1000; k++) {
            uint32_t m = routes[k].len >= 24 ? 0xffffff00u : wl_mask(routes[k].len);
            cr_assert_neq(addrs[i] & m, routes[k].addr & m, "miss %08x in a route's /24", addrs[i]);
        }
    }
    free(mem);
    free(addrs);
    free(routes);
}

static uint16_t bswap16(uint16_t v)
{
    return (uint16_t)(v >> 8 | v << 8);
}

/* rte_raw_cksum's value is the byte swap of the RFC 1071 sum (WORKLOADS.md 4). */
Test(workloads, data_bytes_give_the_reference_raw_checksums)
{
    uint8_t buf[2048];

    wl_fill_bytes(buf, sizeof(buf), WL_DATA_SEED);
    cr_expect_eq(bswap16(wl_sum16_be(buf, 64)), 0x8b3a);
    cr_expect_eq(bswap16(wl_sum16_be(buf, 1500)), 0x5bb0);
    cr_expect_eq(csum_partial(buf, 64, 0), 0x3a8b, "net/csum.c agrees");
    cr_expect_eq(csum_partial(buf, 1500, 0), 0xb05b);
}

Test(workloads, fill_bytes_are_the_little_endian_bytes_of_successive_draws)
{
    uint8_t buf[11];
    uint64_t s = WL_DATA_SEED, v0 = wl_next(&s), v1 = wl_next(&s);

    wl_fill_bytes(buf, sizeof(buf), WL_DATA_SEED);
    for (unsigned k = 0; k < 8; k++)
        cr_expect_eq(buf[k], (uint8_t)(v0 >> (8 * k)));
    for (unsigned k = 8; k < 11; k++)
        cr_expect_eq(buf[k], (uint8_t)(v1 >> (8 * (k - 8))));
}

Test(workloads, udp1500_has_a_valid_ip_header_and_the_reference_udp_checksum)
{
    uint8_t pkt[WL_UDP1500_BYTES];
    uint32_t src_be, dst_be;

    wl_build_udp1500(pkt);
    cr_expect_eq(wl_sum16_be(pkt, 20), 0xffff, "header checksum verifies");
    memcpy(&src_be, pkt + 12, 4);
    memcpy(&dst_be, pkt + 16, 4);
    uint16_t csum = csum_l4_ipv4(src_be, dst_be, 17, pkt + 20, 1480);
    uint8_t wire[2];
    memcpy(wire, &csum, 2);
    cr_expect(wire[0] == 0xc0 && wire[1] == 0x7e, "stored bytes %02x %02x", wire[0], wire[1]);
    /* The same from the reference sum: pseudo-header + UDP header + payload. */
    uint8_t pseudo[12] = { 10, 0, 0, 1, 198, 18, 0, 1, 0, 17, 1480 >> 8, 1480 & 0xff };
    uint32_t sum = (uint32_t)wl_sum16_be(pseudo, 12) + wl_sum16_be(pkt + 20, 1480);
    sum = (sum & 0xffff) + (sum >> 16);
    cr_expect_eq((uint16_t)~sum, 0xc07e);
}

Test(workloads, ipv4_headers_sum_to_the_reference_checksum_total)
{
    uint64_t total = 0;

    for (uint32_t i = 0; i < 64; i++) {
        uint8_t f[WL_PKT_BYTES];
        wl_build_packet(f, i, 0xC6120000u + i);
        f[24] = f[25] = 0;
        total += bswap16((uint16_t)~wl_sum16_be(f + 14, 20));   /* native uint16_t */
    }
    cr_expect_eq(total, 1678010);
    /* 10 M calls over h[i & 63] visit each header 156,250 times. */
    cr_expect_eq(total * (10000000 / 64), 262189062500ull);
}

Test(workloads, packet_template_has_the_specified_fields)
{
    uint8_t f[WL_PKT_BYTES];
    static const uint8_t eth[14] = { 2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2, 0x08, 0x00 };

    wl_build_packet(f, 0x12345, 0xC0A80101u);
    cr_expect_arr_eq(f, eth, 14);
    cr_expect_eq(f[14], 0x45);
    cr_expect(f[16] == 0 && f[17] == 46, "total length 46");
    cr_expect(f[18] == 0x23 && f[19] == 0x45, "id = i & 0xffff");
    cr_expect_eq(f[22], 255);
    cr_expect_eq(f[23], 17);
    cr_expect_eq(wl_sum16_be(f + 14, 20), 0xffff, "header checksum verifies");
    cr_expect(f[26] == 10 && f[27] == 1 && f[28] == 0x23 && f[29] == 0x45, "src 10.0.0.0 + i");
    cr_expect(f[30] == 0xC0 && f[31] == 0xA8 && f[32] == 1 && f[33] == 1, "dst big-endian");
    cr_expect(f[34] == 0x13 && f[35] == 0x45, "sport 0x1000 + (i & 0xfff)");
    cr_expect(f[36] == 0x13 && f[37] == 0x89, "dport 5001");
    cr_expect(f[38] == 0 && f[39] == 26 && f[40] == 0 && f[41] == 0, "UDP length 26, csum 0");
    for (unsigned k = 0; k < 18; k++)
        cr_expect_eq(f[42 + k], (uint8_t)(0x45 + k));
}

Test(workloads, next_hop_table_has_the_specified_macs)
{
    struct wl_nh nht[WL_NB_NEXT_HOPS];
    static const uint8_t dst_7[6] = { 2, 0, 0, 0, 0x10, 7 }, src_7[6] = { 2, 0, 0, 0, 0x20, 7 };

    wl_fill_nh_table(nht);
    cr_expect_arr_eq(nht[7].dst_mac, dst_7, 6);
    cr_expect_arr_eq(nht[7].src_mac, src_7, 6);
    cr_expect_eq(nht[255].dst_mac[5], 255);
}

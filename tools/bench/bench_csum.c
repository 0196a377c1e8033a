/*
 * Checksums (WORKLOADS.md section 4): net/csum.c against rte_ip.h's inline
 * functions, one call per iteration, each result through WL_USE and summed.
 *
 *   figure              pktmetal                       DPDK
 *   cksum_ipv4_hdr20    csum_ipv4_header(h, 20)        rte_ipv4_cksum(h)
 *   cksum_raw64/1500    csum_partial(buf, len, 0)      rte_raw_cksum(buf, len)
 *   cksum_ipv4_udp1472  csum_l4_ipv4(src, dst, proto,  rte_ipv4_udptcp_cksum(ip, ip + 20)
 *                         udp, total_len - ihl * 4)
 *
 * The UDP call reads addresses, protocol and lengths from the header, as
 * rte_ipv4_udptcp_cksum does inside. Return conventions differ for the raw
 * sum only: csum_partial gives the RFC 1071 (big-endian) sum, rte_raw_cksum
 * its byte swap; the CHECK line compares each with its own expected value.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_ip.h>

#include "net/csum.h"
#include "net/proto.h"
#include "tools/bench/bench.h"
#include "tools/bench/workloads.h"

#define NB_HDRS 64

struct csum_run {
    uint8_t frames[NB_HDRS][64] __attribute__((aligned(64)));
    const void *h[NB_HDRS];      /* the IPv4 header in each frame */
    uint8_t buf[2048] __attribute__((aligned(64)));
    uint8_t udp_pkt[WL_UDP1500_BYTES] __attribute__((aligned(64)));
    uint32_t calls;
    uint32_t len;                /* raw: bytes per call */
    uint64_t acc_pm, acc_dpdk;   /* sums of each side's last repetition */
};

static __attribute__((noinline)) double pm_hdr20(void *arg)
{
    struct csum_run *r = arg;
    struct bench_timer t = { 0 };
    uint64_t acc = 0;

    bench_begin(&t);
    for (uint32_t i = 0; i < r->calls; i++) {
        uint16_t v = csum_ipv4_header(r->h[i & (NB_HDRS - 1)], 20);
        WL_USE(v);
        acc += v;
    }
    bench_end(&t);
    r->acc_pm = acc;
    return t.ns;
}

static __attribute__((noinline)) double dpdk_hdr20(void *arg)
{
    struct csum_run *r = arg;
    struct bench_timer t = { 0 };
    uint64_t acc = 0;

    bench_begin(&t);
    for (uint32_t i = 0; i < r->calls; i++) {
        uint16_t v = rte_ipv4_cksum(r->h[i & (NB_HDRS - 1)]);
        WL_USE(v);
        acc += v;
    }
    bench_end(&t);
    r->acc_dpdk = acc;
    return t.ns;
}

static __attribute__((noinline)) double pm_raw(void *arg)
{
    struct csum_run *r = arg;
    struct bench_timer t = { 0 };
    uint64_t acc = 0;

    bench_begin(&t);
    for (uint32_t i = 0; i < r->calls; i++) {
        uint32_t v = csum_partial(r->buf, r->len, 0);
        WL_USE(v);
        acc += v;
    }
    bench_end(&t);
    r->acc_pm = acc;
    return t.ns;
}

static __attribute__((noinline)) double dpdk_raw(void *arg)
{
    struct csum_run *r = arg;
    struct bench_timer t = { 0 };
    uint64_t acc = 0;

    bench_begin(&t);
    for (uint32_t i = 0; i < r->calls; i++) {
        uint16_t v = rte_raw_cksum(r->buf, r->len);
        WL_USE(v);
        acc += v;
    }
    bench_end(&t);
    r->acc_dpdk = acc;
    return t.ns;
}

static __attribute__((noinline)) double pm_udp(void *arg)
{
    struct csum_run *r = arg;
    const struct ipv4_hdr *ip = (const struct ipv4_hdr *)r->udp_pkt;
    struct bench_timer t = { 0 };
    uint64_t acc = 0;

    bench_begin(&t);
    for (uint32_t i = 0; i < r->calls; i++) {
        unsigned ihl_bytes = (ip->ver_ihl & 0xf) * 4u;
        uint16_t v = csum_l4_ipv4(ip->src, ip->dst, ip->proto, (const uint8_t *)ip + ihl_bytes,
                                  pm_ntohs(ip->total_len) - ihl_bytes);
        WL_USE(v);
        acc += v;
    }
    bench_end(&t);
    r->acc_pm = acc;
    return t.ns;
}

static __attribute__((noinline)) double dpdk_udp(void *arg)
{
    struct csum_run *r = arg;
    const struct rte_ipv4_hdr *ip = (const struct rte_ipv4_hdr *)r->udp_pkt;
    struct bench_timer t = { 0 };
    uint64_t acc = 0;

    bench_begin(&t);
    for (uint32_t i = 0; i < r->calls; i++) {
        uint16_t v = rte_ipv4_udptcp_cksum(ip, (const uint8_t *)ip + 20);
        WL_USE(v);
        acc += v;
    }
    bench_end(&t);
    r->acc_dpdk = acc;
    return t.ns;
}

static uint16_t bswap16(uint16_t v)
{
    return (uint16_t)(v >> 8 | v << 8);
}

/* Runs one figure; expect_* is the sum over all calls in each side's own
 * convention. */
static void csum_figure(const char *name, struct csum_run *r, uint32_t calls, bench_rep_fn pm_fn,
                        bench_rep_fn dpdk_fn, uint64_t expect_pm, uint64_t expect_dpdk)
{
    struct bench_figure f = { name, "ns/call", calls, calls };
    struct bench_side pm = { pm_fn, r }, dpdk = { dpdk_fn, r };

    if (!bench_selected(name))
        return;
    r->calls = calls;
    r->acc_pm = r->acc_dpdk = 0;
    bench_run(&f, &pm, &dpdk);
    printf("CHECK  %s calls=%u acc_dpdk=%llu acc_pktmetal=%llu expected_dpdk=%llu "
           "expected_pktmetal=%llu %s\n", name, calls, (unsigned long long)r->acc_dpdk,
           (unsigned long long)r->acc_pm, (unsigned long long)expect_dpdk,
           (unsigned long long)expect_pm,
           bench_ok(r->acc_dpdk == expect_dpdk && r->acc_pm == expect_pm));
}

void bench_csum(void)
{
    struct csum_run *r = bench_alloc(sizeof(*r));
    bool small = bench_opts.cg || bench_opts.quick;

    for (uint32_t i = 0; i < NB_HDRS; i++) {
        wl_build_packet(r->frames[i], i, 0xC6120000u + i);
        r->frames[i][24] = r->frames[i][25] = 0;     /* checksum field */
        r->h[i] = r->frames[i] + 14;
    }
    wl_fill_bytes(r->buf, sizeof(r->buf), WL_DATA_SEED);
    wl_build_udp1500(r->udp_pkt);

    uint32_t n = small ? 1u << 16 : 10000000u;     /* a multiple of NB_HDRS */
    csum_figure("cksum_ipv4_hdr20", r, n, pm_hdr20, dpdk_hdr20, n / NB_HDRS * 1678010ull,
                n / NB_HDRS * 1678010ull);
    r->len = 64;
    csum_figure("cksum_raw64", r, n, pm_raw, dpdk_raw, n * (uint64_t)bswap16(35642),
                n * 35642ull);
    n = small ? 1u << 14 : 1000000u;
    r->len = 1500;
    csum_figure("cksum_raw1500", r, n, pm_raw, dpdk_raw, n * (uint64_t)bswap16(23472),
                n * 23472ull);
    csum_figure("cksum_ipv4_udp1472", r, n, pm_udp, dpdk_udp, n * 32448ull, n * 32448ull);
    free(r);
}

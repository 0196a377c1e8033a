/*
 * Tests for net/bridge.c, the learning bridge's MAC table.
 *
 * Time is virtual: every call takes the now_ns the test chooses, so ageing
 * is checked to the nanosecond at its boundary. A lookup that must not
 * learn anything is a frame from a multicast source, which the bridge never
 * learns. The last test holds the hash table against a brute-force list of
 * entries through 100k random learns, lookups and ageing passes on a table
 * small enough that clusters wrap around its end, which is where a wrong
 * backward-shift deletion would lose or strand an entry.
 */
#include <criterion/criterion.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "net/bridge.h"

#define AGE_NS       300000000000ull    /* 300 s, the 802.1Q default */
#define MAX_BRIDGES  4

static void *regions[MAX_BRIDGES];
static unsigned nb_regions;

static void free_regions(void)
{
    while (nb_regions > 0)
        free(regions[--nb_regions]);
}

TestSuite(bridge, .fini = free_regions);

static struct bridge *make_bridge(uint32_t max_entries, uint64_t age_ns, bool vlan_aware)
{
    size_t bytes = bridge_mem_bytes(max_entries);
    struct bridge *b;

    cr_assert_gt(bytes, 0);
    cr_assert_lt(nb_regions, MAX_BRIDGES);
    regions[nb_regions] = malloc(bytes);
    cr_assert_not_null(regions[nb_regions]);
    memset(regions[nb_regions], 0xa5, bytes);   /* create must not rely on zeroed memory */
    b = bridge_create(regions[nb_regions++], bytes, max_entries, age_ns, vlan_aware);
    cr_assert_not_null(b);
    return b;
}

static const uint8_t MAC_A[6] = { 0x52, 0x54, 0x00, 0x00, 0x00, 0x0a };
static const uint8_t MAC_B[6] = { 0x52, 0x54, 0x00, 0x00, 0x00, 0x0b };
static const uint8_t MAC_C[6] = { 0x52, 0x54, 0x00, 0x00, 0x00, 0x0c };
static const uint8_t BCAST[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
static const uint8_t MCAST[6] = { 0x01, 0x00, 0x5e, 0x00, 0x00, 0x01 };
static const uint8_t ZERO[6] = { 0 };

/* Where a frame to dst would go, without learning anything. */
static uint16_t lookup(struct bridge *b, const uint8_t dst[6], uint16_t vlan, uint16_t in_port,
                       uint64_t now_ns)
{
    return bridge_forward(b, dst, MCAST, vlan, in_port, now_ns);
}

static struct bridge_stats stats_of(const struct bridge *b)
{
    struct bridge_stats st;

    bridge_get_stats(b, &st);
    return st;
}

static void mac_of(uint8_t mac[6], uint32_t n)
{
    mac[0] = 0x02;     /* locally administered unicast */
    mac[1] = 0x00;
    mac[2] = n >> 24;
    mac[3] = n >> 16;
    mac[4] = n >> 8;
    mac[5] = n;
}

/* --- creation ---------------------------------------------------------- */

Test(bridge, create_refuses_a_region_too_small_and_zero_entries)
{
    size_t bytes = bridge_mem_bytes(64);
    void *mem = malloc(bytes);

    cr_assert_not_null(mem);
    regions[nb_regions++] = mem;
    cr_assert_null(bridge_create(mem, 100, 64, AGE_NS, false));
    cr_assert_null(bridge_create(mem, 0, 64, AGE_NS, false));
    cr_assert_null(bridge_create(NULL, bytes, 64, AGE_NS, false));
    cr_assert_eq(bridge_mem_bytes(0), 0);
    cr_assert_null(bridge_create(mem, bytes, 0, AGE_NS, false));
    cr_assert_not_null(bridge_create(mem, bytes, 64, AGE_NS, false));
}

Test(bridge, create_works_in_an_unaligned_region_of_the_advertised_size)
{
    size_t bytes = bridge_mem_bytes(16);
    uint8_t *mem = malloc(bytes + 1);
    struct bridge *b;

    cr_assert_not_null(mem);
    regions[nb_regions++] = mem;
    b = bridge_create(mem + 1, bytes, 16, AGE_NS, false);
    cr_assert_not_null(b);
    bridge_forward(b, BCAST, MAC_A, 0, 1, 0);
    cr_assert_eq(lookup(b, MAC_A, 0, 0, 0), 1);
}

Test(bridge, mem_bytes_grows_with_the_rounded_entry_count)
{
    cr_assert_eq(bridge_mem_bytes(3), bridge_mem_bytes(4));
    cr_assert_lt(bridge_mem_bytes(4), bridge_mem_bytes(5));
    cr_assert_eq(bridge_mem_bytes(5), bridge_mem_bytes(8));
}

/* --- forwarding -------------------------------------------------------- */

Test(bridge, learns_the_source_and_forwards_known_unicast_to_its_port)
{
    struct bridge *b = make_bridge(64, AGE_NS, false);

    cr_assert_eq(bridge_forward(b, MAC_B, MAC_A, 0, 1, 0), BRIDGE_FLOOD);
    cr_assert_eq(bridge_forward(b, MAC_A, MAC_B, 0, 2, 10), 1);
    cr_assert_eq(bridge_forward(b, MAC_B, MAC_A, 0, 1, 20), 2);
    cr_assert_eq(stats_of(b).nb_entries, 2);
    cr_assert_eq(stats_of(b).learned, 2);
    cr_assert_eq(stats_of(b).moved, 0);
}

Test(bridge, unknown_unicast_floods)
{
    struct bridge *b = make_bridge(64, AGE_NS, false);

    bridge_forward(b, BCAST, MAC_A, 0, 1, 0);
    cr_assert_eq(bridge_forward(b, MAC_C, MAC_A, 0, 1, 0), BRIDGE_FLOOD);
    cr_assert_eq(lookup(b, MAC_B, 0, 3, 0), BRIDGE_FLOOD);
}

Test(bridge, broadcast_and_multicast_flood_even_from_a_known_station)
{
    struct bridge *b = make_bridge(64, AGE_NS, false);

    bridge_forward(b, BCAST, MAC_A, 0, 1, 0);
    bridge_forward(b, BCAST, MAC_B, 0, 2, 0);
    cr_assert_eq(bridge_forward(b, BCAST, MAC_A, 0, 1, 1), BRIDGE_FLOOD);
    cr_assert_eq(bridge_forward(b, MCAST, MAC_A, 0, 1, 1), BRIDGE_FLOOD);
}

Test(bridge, never_sends_a_frame_back_out_its_input_port)
{
    struct bridge *b = make_bridge(64, AGE_NS, false);

    bridge_forward(b, BCAST, MAC_A, 0, 1, 0);
    bridge_forward(b, BCAST, MAC_B, 0, 1, 0);
    /* Two stations behind one port (a hub or another switch) talk directly. */
    cr_assert_eq(bridge_forward(b, MAC_B, MAC_A, 0, 1, 1), BRIDGE_SAME_PORT);
    /* A frame addressed to its own sender. */
    cr_assert_eq(bridge_forward(b, MAC_A, MAC_A, 0, 1, 2), BRIDGE_SAME_PORT);
}

Test(bridge, a_station_seen_on_another_port_moves_there)
{
    struct bridge *b = make_bridge(64, AGE_NS, false);

    bridge_forward(b, BCAST, MAC_A, 0, 1, 0);
    cr_assert_eq(lookup(b, MAC_A, 0, 0, 1), 1);
    bridge_forward(b, BCAST, MAC_A, 0, 3, 2);
    cr_assert_eq(lookup(b, MAC_A, 0, 0, 3), 3);
    cr_assert_eq(lookup(b, MAC_A, 0, 3, 3), BRIDGE_SAME_PORT);
    cr_assert_eq(stats_of(b).moved, 1);
    cr_assert_eq(stats_of(b).learned, 1);
    cr_assert_eq(stats_of(b).nb_entries, 1);
    /* Traffic on the same port again is no move. */
    bridge_forward(b, BCAST, MAC_A, 0, 3, 4);
    cr_assert_eq(stats_of(b).moved, 1);
}

Test(bridge, multicast_broadcast_and_zero_sources_are_not_learned)
{
    struct bridge *b = make_bridge(64, AGE_NS, false);

    bridge_forward(b, MAC_A, MCAST, 0, 1, 0);
    bridge_forward(b, MAC_A, BCAST, 0, 1, 0);
    bridge_forward(b, MAC_A, ZERO, 0, 1, 0);
    cr_assert_eq(stats_of(b).nb_entries, 0);
    cr_assert_eq(stats_of(b).learned, 0);
    cr_assert_eq(lookup(b, MCAST, 0, 2, 0), BRIDGE_FLOOD);
    cr_assert_eq(lookup(b, ZERO, 0, 2, 0), BRIDGE_FLOOD);
}

Test(bridge, a_port_number_equal_to_a_verdict_is_not_learned)
{
    struct bridge *b = make_bridge(64, AGE_NS, false);

    bridge_forward(b, BCAST, MAC_A, 0, BRIDGE_FLOOD, 0);
    bridge_forward(b, BCAST, MAC_B, 0, BRIDGE_SAME_PORT, 0);
    cr_assert_eq(stats_of(b).nb_entries, 0);
    bridge_forward(b, BCAST, MAC_C, 0, BRIDGE_FLOOD - 1, 0);
    cr_assert_eq(lookup(b, MAC_C, 0, 0, 0), BRIDGE_FLOOD - 1);
}

/* --- ageing ------------------------------------------------------------ */

Test(bridge, ageing_removes_an_entry_after_age_ns_and_not_before)
{
    const uint64_t t0 = 5000000000ull;
    struct bridge *b = make_bridge(64, AGE_NS, false);

    bridge_forward(b, BCAST, MAC_A, 0, 1, t0);
    bridge_age(b, t0 + AGE_NS);                 /* idle exactly age_ns: kept */
    cr_assert_eq(stats_of(b).nb_entries, 1);
    cr_assert_eq(stats_of(b).aged, 0);
    cr_assert_eq(lookup(b, MAC_A, 0, 0, t0 + AGE_NS), 1);

    bridge_age(b, t0 + AGE_NS + 1);             /* one nanosecond more: gone */
    cr_assert_eq(stats_of(b).nb_entries, 0);
    cr_assert_eq(stats_of(b).aged, 1);
    cr_assert_eq(lookup(b, MAC_A, 0, 0, t0 + AGE_NS + 1), BRIDGE_FLOOD);
}

Test(bridge, traffic_from_a_station_keeps_its_entry_alive)
{
    struct bridge *b = make_bridge(64, AGE_NS, false);
    uint64_t now = 0;

    for (int i = 0; i < 10; i++) {
        bridge_forward(b, BCAST, MAC_A, 0, 1, now);
        now += AGE_NS / 2;
        bridge_age(b, now);
    }
    cr_assert_eq(lookup(b, MAC_A, 0, 0, now), 1);
    cr_assert_eq(stats_of(b).aged, 0);
    cr_assert_eq(stats_of(b).learned, 1);
}

Test(bridge, a_stale_entry_floods_before_bridge_age_runs)
{
    struct bridge *b = make_bridge(64, AGE_NS, false);

    bridge_forward(b, BCAST, MAC_A, 0, 1, 0);
    cr_assert_eq(lookup(b, MAC_A, 0, 0, AGE_NS), 1);
    cr_assert_eq(lookup(b, MAC_A, 0, 0, AGE_NS + 1), BRIDGE_FLOOD);
    /* Still holding its slot until bridge_age reclaims it. */
    cr_assert_eq(stats_of(b).nb_entries, 1);
    cr_assert_eq(stats_of(b).aged, 0);
}

Test(bridge, relearning_a_stale_entry_counts_as_aged_and_learned_not_moved)
{
    struct bridge *b = make_bridge(64, AGE_NS, false);
    struct bridge_stats st;

    bridge_forward(b, BCAST, MAC_A, 0, 1, 0);
    bridge_forward(b, BCAST, MAC_A, 0, 2, AGE_NS + 1);
    st = stats_of(b);
    cr_assert_eq(st.nb_entries, 1);
    cr_assert_eq(st.learned, 2);
    cr_assert_eq(st.aged, 1);
    cr_assert_eq(st.moved, 0);
    cr_assert_eq(lookup(b, MAC_A, 0, 0, AGE_NS + 1), 2);
    /* Learned anew: its idle time restarts from the relearn. */
    bridge_age(b, 2 * AGE_NS + 1);
    cr_assert_eq(stats_of(b).nb_entries, 1);
}

Test(bridge, ageing_removes_only_the_idle_entries)
{
    struct bridge *b = make_bridge(64, AGE_NS, false);
    uint8_t mac[6];

    for (uint32_t n = 0; n < 40; n++) {
        mac_of(mac, n);
        bridge_forward(b, BCAST, mac, 0, n % 4, n % 2 ? AGE_NS : 0);
    }
    bridge_age(b, AGE_NS + 1);
    cr_assert_eq(stats_of(b).nb_entries, 20);
    cr_assert_eq(stats_of(b).aged, 20);
    for (uint32_t n = 0; n < 40; n++) {
        mac_of(mac, n);
        cr_assert_eq(lookup(b, mac, 0, 9, AGE_NS + 1), n % 2 ? n % 4 : BRIDGE_FLOOD,
                     "station %u", n);
    }
}

/* --- VLANs ------------------------------------------------------------- */

Test(bridge, vlan_aware_keeps_one_mac_in_two_vlans_apart)
{
    struct bridge *b = make_bridge(64, AGE_NS, true);

    bridge_forward(b, BCAST, MAC_A, 10, 1, 0);
    bridge_forward(b, BCAST, MAC_A, 20, 2, 0);
    cr_assert_eq(stats_of(b).nb_entries, 2);
    cr_assert_eq(stats_of(b).moved, 0);
    cr_assert_eq(lookup(b, MAC_A, 10, 0, 1), 1);
    cr_assert_eq(lookup(b, MAC_A, 20, 0, 1), 2);
    cr_assert_eq(lookup(b, MAC_A, 30, 0, 1), BRIDGE_FLOOD);
    /* Only the 12-bit VLAN id is the key; the PCP/DEI bits are not. */
    cr_assert_eq(lookup(b, MAC_A, 0xe000 | 10, 0, 1), 1);
}

Test(bridge, vlan_unaware_merges_vlans_into_one_entry)
{
    struct bridge *b = make_bridge(64, AGE_NS, false);

    bridge_forward(b, BCAST, MAC_A, 10, 1, 0);
    bridge_forward(b, BCAST, MAC_A, 20, 2, 0);
    cr_assert_eq(stats_of(b).nb_entries, 1);
    cr_assert_eq(stats_of(b).moved, 1);
    cr_assert_eq(lookup(b, MAC_A, 10, 0, 1), 2);
    cr_assert_eq(lookup(b, MAC_A, 99, 0, 1), 2);
}

/* --- a full table ------------------------------------------------------ */

Test(bridge, a_full_table_learns_nothing_new_but_still_forwards)
{
    struct bridge *b = make_bridge(5, AGE_NS, false);   /* rounded up to 8 */
    uint8_t mac[6];

    for (uint32_t n = 0; n < 8; n++) {
        mac_of(mac, n);
        bridge_forward(b, BCAST, mac, 0, 1, 0);
    }
    cr_assert_eq(stats_of(b).nb_entries, 8);
    cr_assert_eq(stats_of(b).table_full, 0);

    /* A ninth station is not learned, and its frame still goes out. */
    mac_of(mac, 0);
    cr_assert_eq(bridge_forward(b, mac, MAC_A, 0, 2, 1), 1);
    cr_assert_eq(stats_of(b).table_full, 1);
    cr_assert_eq(stats_of(b).nb_entries, 8);
    cr_assert_eq(lookup(b, MAC_A, 0, 0, 1), BRIDGE_FLOOD);
    cr_assert_eq(bridge_forward(b, BCAST, MAC_A, 0, 2, 1), BRIDGE_FLOOD);
    cr_assert_eq(stats_of(b).table_full, 2);

    /* Known stations still refresh and move. */
    mac_of(mac, 3);
    bridge_forward(b, BCAST, mac, 0, 4, 2);
    cr_assert_eq(lookup(b, mac, 0, 0, 2), 4);
    cr_assert_eq(stats_of(b).moved, 1);
    cr_assert_eq(stats_of(b).table_full, 2);
}

Test(bridge, a_full_table_learns_again_once_ageing_frees_space)
{
    struct bridge *b = make_bridge(4, AGE_NS, false);
    uint8_t mac[6];

    for (uint32_t n = 0; n < 4; n++) {
        mac_of(mac, n);
        bridge_forward(b, BCAST, mac, 0, 1, 0);
    }
    /* Dead but not reclaimed: the slots are still taken. */
    bridge_forward(b, BCAST, MAC_A, 0, 2, AGE_NS + 1);
    cr_assert_eq(stats_of(b).table_full, 1);
    bridge_age(b, AGE_NS + 1);
    cr_assert_eq(stats_of(b).nb_entries, 0);
    bridge_forward(b, BCAST, MAC_A, 0, 2, AGE_NS + 2);
    cr_assert_eq(lookup(b, MAC_A, 0, 0, AGE_NS + 2), 2);
    cr_assert_eq(stats_of(b).table_full, 1);
}

/* --- the console listing ----------------------------------------------- */

static char printed[1024];
static size_t printed_len;
static int nb_print_calls;

static int capture_print(const char *fmt, ...)
{
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(printed + printed_len, sizeof(printed) - printed_len, fmt, ap);
    va_end(ap);
    cr_assert(n >= 0 && (size_t)n < sizeof(printed) - printed_len);
    printed_len += n;
    nb_print_calls++;
    return n;
}

Test(bridge, print_lists_one_line_per_live_entry)
{
    struct bridge *b = make_bridge(64, AGE_NS, true);
    const uint64_t s = 1000000000ull;

    bridge_forward(b, BCAST, MAC_A, 7, 3, 0);
    bridge_forward(b, BCAST, MAC_B, 7, 1, AGE_NS / 2);
    bridge_print(b, AGE_NS + 1, capture_print);     /* MAC_A is dead by then */
    cr_assert_eq(nb_print_calls, 1);
    cr_assert_str_eq(printed, "   7 52:54:00:00:00:0b     1 150\n");

    printed_len = 0;
    nb_print_calls = 0;
    printed[0] = '\0';
    bridge_print(b, 42 * s + 999999999, capture_print);
    cr_assert_eq(nb_print_calls, 2);
    cr_assert(strstr(printed, "   7 52:54:00:00:00:0a     3 42\n") != NULL, "%s", printed);
    cr_assert(strstr(printed, "   7 52:54:00:00:00:0b     1 0\n") != NULL, "%s", printed);
}

/* --- churn against a reference ----------------------------------------- */

/*
 * The reference: an unordered list of (key, port, seen_ns) searched from end
 * to end, with the semantics net/bridge.h states and nothing else. Its
 * capacity is the rounded max_entries, and dead entries hold their place
 * until ref_age, as in the bridge.
 */
#define REF_CAP     32              /* table: 32 entries, 64 slots */
#define REF_MACS    96
#define REF_VLANS   3
#define REF_PORTS   6
#define REF_AGE_NS  1000ull
#define CHURN_OPS   100000

struct ref_entry {
    uint32_t mac_id;
    uint16_t vlan, port;
    uint64_t seen_ns;
};

struct ref {
    struct ref_entry e[REF_CAP];
    unsigned n;
    struct bridge_stats st;
};

static bool ref_dead(const struct ref_entry *e, uint64_t now_ns)
{
    return now_ns > e->seen_ns && now_ns - e->seen_ns > REF_AGE_NS;
}

static struct ref_entry *ref_find(struct ref *r, uint32_t mac_id, uint16_t vlan)
{
    for (unsigned i = 0; i < r->n; i++)
        if (r->e[i].mac_id == mac_id && r->e[i].vlan == vlan)
            return &r->e[i];
    return NULL;
}

static void ref_learn(struct ref *r, uint32_t mac_id, uint16_t vlan, uint16_t port, uint64_t now)
{
    struct ref_entry *e = ref_find(r, mac_id, vlan);

    if (e != NULL && ref_dead(e, now)) {
        r->st.aged++;
        r->st.learned++;
    } else if (e != NULL) {
        r->st.moved += e->port != port;
    } else if (r->n == REF_CAP) {
        r->st.table_full++;
        return;
    } else {
        e = &r->e[r->n++];
        *e = (struct ref_entry){ .mac_id = mac_id, .vlan = vlan };
        r->st.learned++;
    }
    e->port = port;
    e->seen_ns = now;
}

static uint16_t ref_lookup(struct ref *r, uint32_t mac_id, uint16_t vlan, uint16_t in_port,
                           uint64_t now)
{
    struct ref_entry *e = ref_find(r, mac_id, vlan);

    if (e == NULL || ref_dead(e, now))
        return BRIDGE_FLOOD;
    return e->port == in_port ? BRIDGE_SAME_PORT : e->port;
}

static void ref_age(struct ref *r, uint64_t now)
{
    for (unsigned i = 0; i < r->n;) {
        if (ref_dead(&r->e[i], now)) {
            r->e[i] = r->e[--r->n];
            r->st.aged++;
        } else {
            i++;
        }
    }
}

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static uint32_t rng(uint32_t bound)     /* xorshift64*, fixed seed */
{
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return (uint32_t)((rng_state * 0x2545f4914f6cdd1dull) >> 32) % bound;
}

static void expect_same_stats(const struct bridge *b, const struct ref *r, int op)
{
    struct bridge_stats st = stats_of(b);

    cr_assert_eq(st.nb_entries, r->n, "op %d: %u entries, reference %u", op, st.nb_entries, r->n);
    cr_assert_eq(st.learned, r->st.learned, "op %d: learned", op);
    cr_assert_eq(st.moved, r->st.moved, "op %d: moved", op);
    cr_assert_eq(st.aged, r->st.aged, "op %d: aged", op);
    cr_assert_eq(st.table_full, r->st.table_full, "op %d: table_full", op);
}

/* Every key the run uses, looked up in both. */
static void expect_same_lookups(struct bridge *b, struct ref *r, uint64_t now, int op)
{
    uint8_t mac[6];

    for (uint32_t id = 0; id < REF_MACS; id++) {
        mac_of(mac, id);
        for (uint16_t vlan = 0; vlan < REF_VLANS; vlan++)
            cr_assert_eq(lookup(b, mac, vlan, REF_PORTS, now), ref_lookup(r, id, vlan, REF_PORTS, now),
                         "op %d: station %u vlan %u", op, id, vlan);
    }
}

/* One random step: mostly frames, some pure lookups, an ageing pass now and
 * then; the clock moves so that a station lives for a few dozen steps. */
static void churn_step(struct bridge *b, struct ref *r, uint64_t *now, int op)
{
    uint32_t what = rng(100);
    uint32_t src = rng(REF_MACS), dst = rng(REF_MACS);
    uint16_t vlan = rng(REF_VLANS), port = rng(REF_PORTS);
    uint8_t src_mac[6], dst_mac[6];
    uint16_t got, want;

    *now += rng(what < 2 ? 4 * REF_AGE_NS : REF_AGE_NS / 25);
    mac_of(src_mac, src);
    mac_of(dst_mac, dst);
    if (what < 10) {
        bridge_age(b, *now);
        ref_age(r, *now);
        return;
    }
    if (what < 40) {
        got = lookup(b, dst_mac, vlan, port, *now);
        want = ref_lookup(r, dst, vlan, port, *now);
    } else {
        got = bridge_forward(b, dst_mac, src_mac, vlan, port, *now);
        ref_learn(r, src, vlan, port, *now);
        want = ref_lookup(r, dst, vlan, port, *now);
    }
    cr_assert_eq(got, want, "op %d: station %u vlan %u from port %u: got %u, want %u", op, dst,
                 vlan, port, got, want);
}

Test(bridge, hash_table_agrees_with_a_brute_force_reference_under_heavy_churn)
{
    struct bridge *b = make_bridge(REF_CAP, REF_AGE_NS, true);
    struct ref *r = calloc(1, sizeof(*r));
    uint64_t now = 0;

    cr_assert_not_null(r);
    for (int op = 0; op < CHURN_OPS; op++) {
        churn_step(b, r, &now, op);
        expect_same_stats(b, r, op);
        if (op % 500 == 0)
            expect_same_lookups(b, r, now, op);
    }
    expect_same_lookups(b, r, now, CHURN_OPS);
    /* The run must have exercised what it claims to: deletions, moves, and a full table. */
    cr_assert_gt(r->st.aged, 10000, "aged %llu", (unsigned long long)r->st.aged);
    cr_assert_gt(r->st.moved, 1000, "moved %llu", (unsigned long long)r->st.moved);
    cr_assert_gt(r->st.table_full, 100, "table_full %llu", (unsigned long long)r->st.table_full);
    free(r);
}

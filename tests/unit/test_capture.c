/*
 * Tests for net/capture.c: the capture command's parser and replies, the
 * filter deciding what is copied, the wire header of a copy, and the limits
 * that keep capture from hurting forwarding (queue full, pool reserve).
 */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "net/capture.h"
#include "net/pool.h"
#include "net/ring.h"
#include "tests/models/sink_netdev.h"
#include "tests/unit/checked_test.h"

#define ACCEPT_ALL "000600000000ffff"     /* ret #65535 */
#define REJECT_ALL "0006000000000000"     /* ret #0 */
#define POOL_BYTES (8u << 20)

static void *pool_mem, *ring_mem;
static struct pool *pool;
static struct capture *cap;
static char reply[256];
static const uint8_t CAP_MAC[6] = { 0x52, 0x54, 0, 0, 0, 0x12 };

static void setup(void)
{
    pool_mem = aligned_alloc(4096, POOL_BYTES);
    pool = pool_create(pool_mem, (dma_addr_t)(uintptr_t)pool_mem, POOL_BYTES, 0);
    ring_mem = aligned_alloc(64, ring_mem_bytes(8));
    cap = calloc(1, sizeof(*cap));
    capture_init(cap, pool, ring_init(ring_mem, 8), CAP_MAC, 1000000000ull);
}

/* The end of every test (CHECKED_TEST): the copies still queued go back,
 * and then no buffer is out. */
static void no_leak(void)
{
    void *objs[8];
    unsigned n = ring_dequeue_burst(cap->queue, objs, 8);
    pktbuf_free_bulk((struct pktbuf **)objs, n);
    cr_assert_eq(pool_in_use(pool), 0, "buffers leaked: %u in use", pool_in_use(pool));
}

static void teardown(void)
{
    free(cap);
    free(ring_mem);
    free(pool_mem);
}

TestSuite(capture, .init = setup, .fini = teardown);

static void command(const char *args)
{
    capture_command(cap, args, 2, reply, sizeof(reply));
}

static struct pktbuf *frame(uint16_t len, uint8_t fill)
{
    struct pktbuf *b = pool_get(pool);
    memset(pktbuf_data(b), fill, len);
    b->data_len = len;
    return b;
}

CHECKED_TEST(capture, start_names_the_points_and_program_size, no_leak)
{
    command("start points=rx0,tx*,drop1 snap=128 bpf=" ACCEPT_ALL);
    cr_assert_str_eq(reply, "capture: ok started points=rx0,tx0,tx1,drop1 insns=1 snap=128 queue=8");
    cr_assert(capture_wants(cap, CAPTURE_POINT_RX, 0));
    cr_assert(!capture_wants(cap, CAPTURE_POINT_RX, 1));
    cr_assert(capture_wants(cap, CAPTURE_POINT_DROP, 1));
}

CHECKED_TEST(capture, bad_commands_get_a_reason_and_start_nothing, no_leak)
{
    command("start points=rx5 bpf=" ACCEPT_ALL);
    cr_assert(strstr(reply, "capture: error bad points 'points=rx5'") == reply, "%s", reply);
    command("start points=rx0");
    cr_assert_str_eq(reply, "capture: error no filter (bpf=HEX)");
    command("start points=rx0 bpf=0006");
    cr_assert(strncmp(reply, "capture: error bpf= is not", 26) == 0, "%s", reply);
    command("start points=rx0 bpf=0015000500000000" ACCEPT_ALL);   /* jeq jumps past the end */
    cr_assert(strncmp(reply, "capture: error filter rejected:", 31) == 0, "%s", reply);
    command("start points=rx0 queue=0 bpf=" ACCEPT_ALL);
    cr_assert_str_eq(reply, "capture: error bad queue 'queue=0' (1..8)");
    command("start points=rx0 queue=9 bpf=" ACCEPT_ALL);
    cr_assert_str_eq(reply, "capture: error bad queue 'queue=9' (1..8)");
    command("start points=rx0 colour=blue bpf=" ACCEPT_ALL);
    cr_assert_str_eq(reply, "capture: error unknown argument 'colour=blue'");
    command("begin");
    cr_assert_str_eq(reply, "capture: error expected start|stop|status");
    cr_assert(!cap->active);
}

/* A failed start while a capture runs changes nothing: the running filter
 * is never half-overwritten by a program that did not validate (it would
 * run unchecked jumps on the next packet). */
CHECKED_TEST(capture, a_failed_start_leaves_the_running_capture_alone, no_leak)
{
    command("start points=rx0 snap=64 bpf=" REJECT_ALL);
    cr_assert(strncmp(reply, "capture: ok started", 19) == 0, "%s", reply);
    /* A jump far past the end, then a program cut in the middle. */
    command("start points=tx1 snap=99 bpf=0005000000010000" ACCEPT_ALL);
    cr_assert(strncmp(reply, "capture: error filter rejected:", 31) == 0, "%s", reply);
    command("start points=tx1 bpf=" ACCEPT_ALL "00150005zz000000");
    cr_assert(strncmp(reply, "capture: error bpf= is not", 26) == 0, "%s", reply);

    cr_assert(cap->active);
    cr_assert_eq(cap->nb_insns, 1);
    cr_assert_eq(cap->prog[0].code, 0x0006);
    cr_assert_eq(cap->prog[0].k, 0, "still ret #0");
    cr_assert_eq(cap->snap, 64);
    cr_assert(capture_wants(cap, CAPTURE_POINT_RX, 0));
    cr_assert(!capture_wants(cap, CAPTURE_POINT_TX, 1));
    struct pktbuf *b = frame(60, 1);
    capture_packet(cap, b, CAPTURE_POINT_RX, 0, 0, 0);
    pktbuf_free(b);
    cr_assert_eq(cap->filtered, 1);
    cr_assert_eq(cap->captured, 0);
}

CHECKED_TEST(capture, a_copy_carries_the_header_and_the_frame_up_to_snap, no_leak)
{
    command("start points=rx* snap=100 bpf=" ACCEPT_ALL);
    struct pktbuf *b = frame(300, 0xab);
    capture_packet(cap, b, CAPTURE_POINT_RX, 1, 0, 5000);
    pktbuf_free(b);
    void *obj;
    cr_assert_eq(ring_dequeue_burst(cap->queue, &obj, 1), 1);
    struct pktbuf *c = obj;
    const uint8_t *d = pktbuf_data(c);
    cr_assert_arr_eq(d, "\xff\xff\xff\xff\xff\xff", 6);
    cr_assert_arr_eq(d + 6, CAP_MAC, 6);
    cr_assert_arr_eq(d + 12, "\x88\xb5" "PMCP\x01\x00\x00\x01", 10);
    cr_assert_arr_eq(d + 26, "\x00\x00\x01\x2c\x00\x00\x00\x64", 8);   /* orig 300, cap 100 */
    uint64_t ts = 0;
    for (int i = 0; i < 8; i++)
        ts = ts << 8 | d[34 + i];
    cr_assert_eq(ts, 1000005000ull);
    cr_assert_eq(c->data_len, 14 + 32 + 100);
    cr_assert_eq(d[14 + 32], 0xab);
    pktbuf_free(c);
}

CHECKED_TEST(capture, filter_rejects_are_counted_not_copied, no_leak)
{
    command("start points=rx0 bpf=" REJECT_ALL);
    struct pktbuf *b = frame(60, 1);
    capture_packet(cap, b, CAPTURE_POINT_RX, 0, 0, 0);
    pktbuf_free(b);
    cr_assert_eq(cap->filtered, 1);
    cr_assert_eq(cap->captured, 0);
}

CHECKED_TEST(capture, full_queue_counts_queue_drops_and_never_blocks, no_leak)
{
    command("start points=rx0 bpf=" ACCEPT_ALL);
    struct pktbuf *b = frame(60, 1);
    for (int i = 0; i < 20; i++)
        capture_packet(cap, b, CAPTURE_POINT_RX, 0, 0, 0);
    pktbuf_free(b);
    cr_assert_eq(cap->captured, 8);
    cr_assert_eq(cap->queue_drops, 12);
    command("stop");
    cr_assert_str_eq(reply, "capture: ok stopped active=0 captured=8 queue_drops=12 filtered=0 "
                            "sent=0 tx_drops=0");
}

CHECKED_TEST(capture, queue_option_caps_the_copies_waiting, no_leak)
{
    command("start points=rx0 queue=3 bpf=" ACCEPT_ALL);
    cr_assert(strstr(reply, " queue=3") != NULL, "%s", reply);
    struct pktbuf *b = frame(60, 1);
    for (int i = 0; i < 5; i++)
        capture_packet(cap, b, CAPTURE_POINT_RX, 0, 0, 0);
    cr_assert_eq(cap->captured, 3);
    cr_assert_eq(cap->queue_drops, 2);
    void *obj;
    cr_assert_eq(ring_dequeue_burst(cap->queue, &obj, 1), 1);   /* the port took one */
    pktbuf_free(obj);
    capture_packet(cap, b, CAPTURE_POINT_RX, 0, 0, 0);
    capture_packet(cap, b, CAPTURE_POINT_RX, 0, 0, 0);
    pktbuf_free(b);
    cr_assert_eq(cap->captured, 4);
    cr_assert_eq(cap->queue_drops, 3);
    cr_assert_eq(cap->captured + cap->queue_drops, 7);
}

CHECKED_TEST(capture, copies_stop_when_the_pool_reserve_is_reached, no_leak)
{
    command("start points=drop0 bpf=" ACCEPT_ALL);
    uint32_t keep = pool_free_count(pool) - CAPTURE_POOL_RESERVE;
    struct pktbuf **held = calloc(keep, sizeof(*held));
    cr_assert_eq(pool_get_bulk(pool, held, keep), keep);
    capture_packet(cap, held[0], CAPTURE_POINT_DROP, 0, 7, 0);
    cr_assert_eq(cap->queue_drops, 1);
    cr_assert_eq(cap->captured, 0);
    pktbuf_free_bulk(held, keep);
    free(held);
}

CHECKED_TEST(capture, drain_sends_copies_out_of_the_capture_port, no_leak)
{
    struct sink_netdev port;
    sink_netdev_init(&port, 2, CAP_MAC, pool);
    command("start points=tx0 bpf=" ACCEPT_ALL);
    struct pktbuf *b = frame(64, 3);
    capture_packet(cap, b, CAPTURE_POINT_TX, 0, 0, 0);
    capture_packet(cap, b, CAPTURE_POINT_TX, 0, 0, 0);
    pktbuf_free(b);
    cr_assert_eq(capture_drain(cap, &port.nd), 2);
    cr_assert_eq(port.nb_sent, 2);
    cr_assert_eq(cap->sent, 2);
}

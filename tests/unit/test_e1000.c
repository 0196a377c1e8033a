/*
 * Tests for drivers/e1000.c against the strict device model in
 * tests/models/e1000_model.h, with a real packet pool (net/pool.c) in
 * dma_alloc() memory and PCI config space from tests/models/pci_model.h.
 *
 * Every burst goes through rx()/tx() below, which open a burst window in
 * the model (at most one RDT and one TDT write inside), and every test ends
 * by asserting the model saw no violation of the manual.
 *
 * The second suite, e1000_model, pins the model's own strictness: a
 * hand-written sequence of register writes that breaks one rule must be
 * caught, or the driver tests above would prove nothing.
 */
#include <criterion/criterion.h>
#include <string.h>

#include "drivers/e1000.h"
#include "drivers/e1000_regs.h"
#include "kernel/dma.h"
#include "kernel/io.h"
#include "kernel/pci.h"
#include "net/errno.h"
#include "net/pool.h"
#include "tests/models/e1000_model.h"
#include "tests/models/host_platform.h"
#include "tests/models/pci_model.h"

#define POOL_BUFS    256u
#define FRAME_LEN    128u

static const uint8_t port_mac[6] = { 0x52, 0x54, 0x00, 0x12, 0x34, 0x56 };
static const uint8_t peer_mac[6] = { 0x02, 0x00, 0x00, 0x00, 0x00, 0x01 };

static struct model_e1000 *model;
static struct pci_model pcim;
static struct pci_cfg_ops pci_ops;
static struct pci_dev pdev;
static struct pool *pool;
static struct netdev *dev;

/* ---- fixture ---- */

static struct pool *make_pool(uint32_t nb_bufs)
{
    size_t bytes = (size_t)nb_bufs * (PKTBUF_STRIDE + 2 * sizeof(void *)) +
                   sizeof(struct pool) + 4096;
    void *mem = dma_alloc(bytes, 64);

    cr_assert_not_null(mem);
    struct pool *p = pool_create(mem, dma_addr(mem), bytes, nb_bufs);
    cr_assert_not_null(p);
    cr_assert_eq(p->nb_bufs, nb_bufs);
    return p;
}

static void setup(void)
{
    model = model_e1000_create(port_mac);
    pci_model_init(&pcim);
    pci_model_add(&pcim, 0, 2, 0, E1000_VENDOR_INTEL, E1000_DEVICE_82540EM, 0x02, 0x00, 0);
    pci_model_ops(&pcim, &pci_ops);
    memset(&pdev, 0, sizeof(pdev));
    pdev.dev = 2;
    pdev.vendor = E1000_VENDOR_INTEL;
    pdev.device = E1000_DEVICE_82540EM;
    pdev.class_code = 0x02;
    pdev.bar[0].base = model_e1000_bar0(model);
    pdev.bar[0].size = MODEL_E1000_WINDOW_BYTES;
    pool = make_pool(POOL_BUFS);
    dev = NULL;
}

static void teardown(void)
{
    model_e1000_destroy(model);
    host_mmio_unregister_all();
    host_dma_free_all();
}

static void assert_no_violations(void)
{
    cr_assert_eq(model->nb_violations, 0, "model saw %u violation(s):\n%s",
                 model->nb_violations, model->log);
}

static int create_port(uint16_t rx_size, uint16_t tx_size, bool promisc)
{
    struct netdev_config cfg = {
        .port_id = 3, .rx_ring_size = rx_size, .tx_ring_size = tx_size,
        .promisc = promisc, .pool = pool,
    };
    return e1000_create(&pci_ops, &pdev, &cfg, &dev);
}

static void create_ok(uint16_t rx_size, uint16_t tx_size)
{
    int rc = create_port(rx_size, tx_size, false);

    cr_assert_eq(rc, 0, "e1000_create: %d", rc);
    cr_assert_not_null(dev);
}

static uint16_t rx(struct pktbuf **pkts, uint16_t nb)
{
    model_e1000_burst_begin(model);
    uint16_t n = netdev_rx_burst(dev, pkts, nb);
    model_e1000_burst_end(model);
    return n;
}

static uint16_t tx(struct pktbuf **pkts, uint16_t nb)
{
    model_e1000_burst_begin(model);
    uint16_t n = netdev_tx_burst(dev, pkts, nb);
    model_e1000_burst_end(model);
    return n;
}

/* ---- frames ---- */

static void make_frame(uint8_t *f, uint32_t seq, uint16_t len, const uint8_t dst[6])
{
    memcpy(f, dst, 6);
    memcpy(f + 6, peer_mac, 6);
    f[12] = 0x88;
    f[13] = 0xb5;                                  /* local experimental ethertype */
    for (uint16_t i = 14; i < len; i++)
        f[i] = (uint8_t)(seq * 7 + i);
    memcpy(f + 14, &seq, sizeof(seq));
}

static uint16_t len_for(uint32_t seq)
{
    return (uint16_t)(60 + (seq * 37) % 1400);     /* 60..1459, varies per frame */
}

static bool inject(uint32_t seq)
{
    uint8_t f[2048];
    uint16_t len = len_for(seq);

    make_frame(f, seq, len, port_mac);
    return model_e1000_rx(model, f, len);
}

static void check_frame(const uint8_t *data, uint16_t len, uint32_t seq)
{
    uint8_t want[2048];

    cr_assert_eq(len, len_for(seq), "frame %u: length %u, want %u", seq, len, len_for(seq));
    make_frame(want, seq, len, port_mac);
    cr_assert(memcmp(data, want, len) == 0, "frame %u: content differs", seq);
}

/* A packet from the pool carrying frame seq, as the pipeline would hand it to TX. */
static struct pktbuf *tx_packet(uint32_t seq)
{
    struct pktbuf *b = pool_get(pool);

    cr_assert_not_null(b);
    b->data_len = len_for(seq);
    make_frame(pktbuf_data(b), seq, b->data_len, port_mac);
    return b;
}

/* Drains the ring: every frame received is checked against *next_seq. */
static uint32_t drain_and_check(uint32_t *next_seq, uint16_t nb_per_burst)
{
    struct pktbuf *pkts[64];
    uint32_t total = 0;
    uint16_t n;

    while ((n = rx(pkts, nb_per_burst)) > 0) {
        for (uint16_t i = 0; i < n; i++) {
            cr_assert_eq(pkts[i]->port, 3);
            check_frame(pktbuf_data(pkts[i]), pkts[i]->data_len, (*next_seq)++);
        }
        pktbuf_free_bulk(pkts, n);
        total += n;
    }
    return total;
}

static uint32_t in_use(void)
{
    return pool_in_use(pool);
}

TestSuite(e1000, .init = setup, .fini = teardown, .timeout = 20);

/* ======================================================================
 * Bring-up
 * ====================================================================== */

Test(e1000, create_resets_masks_interrupts_and_sets_link_up)
{
    create_ok(16, 16);
    cr_assert_eq(model->nb_resets, 1);
    cr_assert_geq(model->nb_imc_all_writes, 1, "IMC never written with all ones");
    cr_assert_eq(model_e1000_peek(model, E1000_IMS), 0);
    uint32_t ctrl = model_e1000_peek(model, E1000_CTRL);
    cr_assert(ctrl & E1000_CTRL_SLU, "CTRL.SLU not set: %#x", ctrl);
    cr_assert_eq(ctrl & (E1000_CTRL_LRST | E1000_CTRL_PHY_RST | E1000_CTRL_RST), 0);
    cr_assert(dev->link_up);
    cr_assert_str_eq(dev->driver, "e1000");
    cr_assert_eq(dev->port_id, 3);
    assert_no_violations();
}

Test(e1000, create_reads_mac_from_ral0_rah0)
{
    create_ok(16, 16);
    cr_assert(memcmp(dev->mac, port_mac, 6) == 0, "MAC %02x:%02x:%02x:%02x:%02x:%02x",
              dev->mac[0], dev->mac[1], dev->mac[2], dev->mac[3], dev->mac[4], dev->mac[5]);
    assert_no_violations();
}

Test(e1000, create_programs_rx_ring_and_writes_rctl_once)
{
    create_ok(32, 16);
    uint64_t base = (uint64_t)model_e1000_peek(model, E1000_RDBAH) << 32 |
                    model_e1000_peek(model, E1000_RDBAL);
    cr_assert_eq(base % 128, 0, "RX ring at %#llx not on a 128-byte line pair",
                 (unsigned long long)base);
    cr_assert(host_dma_contains(base, 32 * 16));
    cr_assert_eq(model_e1000_peek(model, E1000_RDLEN), 32 * 16);
    cr_assert_eq(model_e1000_peek(model, E1000_RDH), 0);
    cr_assert_eq(model_e1000_peek(model, E1000_RDT), 31, "RDT: one slot kept back");
    cr_assert_eq(model->nb_rctl_writes, 1);
    cr_assert_eq(model_e1000_peek(model, E1000_RCTL),
                 E1000_RCTL_EN | E1000_RCTL_BAM | E1000_RCTL_SECRC,
                 "RCTL %#x", model_e1000_peek(model, E1000_RCTL));
    cr_assert_eq(dev->rx_ring_size, 32);
    assert_no_violations();
}

Test(e1000, create_programs_tx_ring_tctl_and_tipg)
{
    create_ok(16, 64);
    uint64_t base = (uint64_t)model_e1000_peek(model, E1000_TDBAH) << 32 |
                    model_e1000_peek(model, E1000_TDBAL);
    cr_assert_eq(base % 128, 0);
    cr_assert_eq(model_e1000_peek(model, E1000_TDLEN), 64 * 16);
    cr_assert_eq(model_e1000_peek(model, E1000_TDH), 0);
    cr_assert_eq(model_e1000_peek(model, E1000_TDT), 0);
    uint32_t tctl = model_e1000_peek(model, E1000_TCTL);
    cr_assert(tctl & E1000_TCTL_EN);
    cr_assert(tctl & E1000_TCTL_PSP);
    cr_assert_eq((tctl >> 4) & 0xff, 0x0f, "CT");
    cr_assert_eq((tctl >> 12) & 0x3ff, 0x40, "COLD");
    cr_assert_eq(model_e1000_peek(model, E1000_TIPG), 10u | 8u << 10 | 6u << 20);
    cr_assert_eq(dev->tx_ring_size, 64);
    assert_no_violations();
}

Test(e1000, create_clears_the_multicast_table)
{
    create_ok(16, 16);
    for (uint32_t i = 0; i < 128; i++)
        cr_assert_eq(model_e1000_peek(model, E1000_MTA + 4 * i), 0, "MTA[%u]", i);
    assert_no_violations();
}

Test(e1000, create_fills_every_rx_slot_from_the_pool)
{
    uint32_t before = in_use();

    create_ok(64, 16);
    cr_assert_eq(in_use(), before + 64);
    cr_assert_eq(model_e1000_rx_free(model), 63);
    assert_no_violations();
}

Test(e1000, create_enables_bus_mastering_and_disables_intx)
{
    create_ok(16, 16);
    uint32_t cmd = pci_model_peek32(&pcim.fns[0], PCI_CFG_COMMAND) & 0xffff;
    cr_assert(cmd & PCI_COMMAND_MEMORY);
    cr_assert(cmd & PCI_COMMAND_BUS_MASTER);
    cr_assert(cmd & PCI_COMMAND_INTX_DISABLE);
}

Test(e1000, create_rejects_bad_ring_sizes_and_keeps_the_pool_whole)
{
    uint32_t before = in_use();

    cr_assert_eq(create_port(24, 16, false), -PM_EINVAL);
    cr_assert_eq(create_port(16, 100, false), -PM_EINVAL);
    cr_assert_eq(create_port(4, 16, false), -PM_EINVAL);
    cr_assert_eq(create_port(16, 0, false), -PM_EINVAL);
    cr_assert_eq(create_port(16, 8192, false), -PM_EINVAL);
    cr_assert_eq(in_use(), before);
    cr_assert_eq(model->nb_resets, 0, "device touched for a config it refused");
}

Test(e1000, create_rejects_a_device_that_is_not_an_e1000)
{
    pdev.device = 0x10d3;                          /* 82574L: another programming model */
    cr_assert_eq(create_port(16, 16, false), -PM_ENODEV);
    pdev.device = E1000_DEVICE_82540EM;
    pdev.bar[0].is_io = true;
    cr_assert_eq(create_port(16, 16, false), -PM_ENODEV);
}

Test(e1000, create_times_out_when_reset_never_completes)
{
    uint32_t before = in_use();

    model->reset_busy_reads = 1000000;
    cr_assert_eq(create_port(16, 16, false), -PM_ETIMEDOUT);
    cr_assert_eq(in_use(), before);
    cr_assert_eq(model->nb_rctl_writes, 0);
}

Test(e1000, create_fails_without_a_valid_mac)
{
    uint32_t before = in_use();

    model->eeprom_blank = true;                    /* no address loaded after reset */
    cr_assert_eq(create_port(16, 16, false), -PM_EIO);
    cr_assert_eq(in_use(), before);
    cr_assert_eq(model->nb_rctl_writes, 0);
}

Test(e1000, create_returns_every_buffer_when_the_pool_cannot_fill_the_ring)
{
    pool = make_pool(40);
    uint32_t before = in_use();

    cr_assert_eq(create_port(64, 16, false), -PM_ENOMEM);
    cr_assert_eq(in_use(), before);
    cr_assert_eq(pool->nb_put_rejected, 0);
    cr_assert_eq(model->nb_rctl_writes, 0, "RX enabled without a full ring");
}

/* ======================================================================
 * Receive
 * ====================================================================== */

Test(e1000, rx_delivers_frames_in_order_and_intact_across_ring_wrap)
{
    uint32_t next_in = 0, next_out = 0, got = 0;

    create_ok(16, 16);
    uint32_t baseline = in_use();
    while (next_in < 200) {
        uint32_t room = model_e1000_rx_free(model);
        for (uint32_t i = 0; i < room && next_in < 200; i++)
            cr_assert(inject(next_in++), "frame %u not stored", next_in - 1);
        got += drain_and_check(&next_out, 5);
    }
    cr_assert_eq(got, 200);
    cr_assert_eq(dev->stats.rx_packets, 200);
    uint64_t bytes = 0;
    for (uint32_t s = 0; s < 200; s++)
        bytes += len_for(s);
    cr_assert_eq(dev->stats.rx_bytes, bytes);
    cr_assert_eq(in_use(), baseline, "received buffers were replaced one for one");
    cr_assert_eq(model_e1000_rx_free(model), 15, "every slot but one back with the device");
    assert_no_violations();
}

Test(e1000, rx_returns_zero_and_rings_no_doorbell_when_nothing_arrived)
{
    struct pktbuf *pkts[32];

    create_ok(16, 16);
    uint32_t rdt_writes = model->nb_rdt_writes;
    cr_assert_eq(rx(pkts, 32), 0);
    cr_assert_eq(model->nb_rdt_writes, rdt_writes);
    assert_no_violations();
}

Test(e1000, rx_hands_up_at_most_nb_and_leaves_the_rest_for_the_next_burst)
{
    struct pktbuf *pkts[32];

    create_ok(32, 16);
    for (uint32_t s = 0; s < 10; s++)
        cr_assert(inject(s));
    cr_assert_eq(rx(pkts, 4), 4);
    for (uint32_t i = 0; i < 4; i++)
        check_frame(pktbuf_data(pkts[i]), pkts[i]->data_len, i);
    pktbuf_free_bulk(pkts, 4);
    cr_assert_eq(rx(pkts, 32), 6);
    for (uint32_t i = 0; i < 6; i++)
        check_frame(pktbuf_data(pkts[i]), pkts[i]->data_len, 4 + i);
    pktbuf_free_bulk(pkts, 6);
    assert_no_violations();
}

Test(e1000, rx_keeps_descriptor_and_counts_nobuf_when_pool_empty)
{
    struct pktbuf *held[64], *pkts[32];
    uint32_t next_out = 0;

    pool = make_pool(16 + 4);
    create_ok(16, 16);
    cr_assert_eq(pool_get_bulk(pool, held, 4), 4, "take the pool's last buffers");
    for (uint32_t s = 0; s < 5; s++)
        cr_assert(inject(s));
    cr_assert_eq(model_e1000_rx_free(model), 10);

    cr_assert_eq(rx(pkts, 32), 0, "no buffer to refill with: nothing handed up");
    cr_assert_eq(dev->stats.rx_nobuf, 1);
    cr_assert_eq(model_e1000_rx_free(model), 10, "the 5 slots stay out of the device's hands");
    cr_assert_eq(model_e1000_peek(model, E1000_RDT), 15, "RDT did not move");

    pool_put_bulk(pool, held, 4);                   /* buffers come back */
    uint16_t n = rx(pkts, 32);
    cr_assert_eq(n, 4, "as many frames as buffers");
    cr_assert_eq(dev->stats.rx_nobuf, 2, "still one short");
    for (uint16_t i = 0; i < n; i++)
        check_frame(pktbuf_data(pkts[i]), pkts[i]->data_len, next_out++);
    pktbuf_free_bulk(pkts, n);
    cr_assert_eq(drain_and_check(&next_out, 32), 1, "the frame left behind is intact");
    cr_assert_eq(next_out, 5);
    cr_assert_eq(dev->stats.rx_nobuf, 2);
    cr_assert_eq(model_e1000_rx_free(model), 15, "fully recovered");
    assert_no_violations();
}

Test(e1000, rx_drops_frames_with_errors_and_reuses_their_buffer)
{
    struct pktbuf *pkts[32];
    uint8_t f[256];
    struct model_e1000_rx_opts bad_crc = { .errors = E1000_RXD_ERR_CE };

    create_ok(16, 16);
    uint32_t baseline = in_use();
    cr_assert(inject(0));
    make_frame(f, 99, FRAME_LEN, port_mac);
    cr_assert(model_e1000_rx_ex(model, f, FRAME_LEN, &bad_crc));
    cr_assert(inject(1));
    cr_assert_eq(rx(pkts, 32), 2);
    check_frame(pktbuf_data(pkts[0]), pkts[0]->data_len, 0);
    check_frame(pktbuf_data(pkts[1]), pkts[1]->data_len, 1);
    struct e1000_xstats xs;
    e1000_get_xstats(dev, &xs);
    cr_assert_eq(xs.rx_frame_errors, 1);
    cr_assert_eq(dev->stats.rx_packets, 2);
    cr_assert_eq(in_use(), baseline + 2, "the bad frame's buffer went back into its slot");
    pktbuf_free_bulk(pkts, 2);
    cr_assert_eq(model_e1000_rx_free(model), 15);
    assert_no_violations();
}

Test(e1000, rx_drops_every_piece_of_a_chained_frame_even_across_bursts)
{
    struct pktbuf *pkts[32];
    uint8_t f[1400];
    struct model_e1000_rx_opts chained = { .piece_bytes = 512 };

    create_ok(16, 16);
    uint32_t baseline = in_use();
    make_frame(f, 77, 1200, port_mac);
    cr_assert(model_e1000_rx_ex(model, f, 1200, &chained), "3 pieces of 512");
    cr_assert(inject(0));
    cr_assert_eq(rx(pkts, 2), 0, "two pieces, no frame");
    cr_assert_eq(rx(pkts, 32), 1, "the last piece is dropped, the next frame is not");
    check_frame(pktbuf_data(pkts[0]), pkts[0]->data_len, 0);
    struct e1000_xstats xs;
    e1000_get_xstats(dev, &xs);
    cr_assert_eq(xs.rx_chained, 3);
    cr_assert_eq(dev->stats.rx_packets, 1);
    pktbuf_free(pkts[0]);
    cr_assert_eq(in_use(), baseline);
    assert_no_violations();
}

Test(e1000, rx_ring_full_shows_up_as_rx_missed_after_link_poll)
{
    uint32_t next_out = 0;

    create_ok(16, 16);
    for (uint32_t s = 0; s < 20; s++)
        inject(s);
    cr_assert_eq(dev->ops->link_poll(dev), true);
    cr_assert_eq(dev->stats.rx_missed, 5, "15 slots, 20 frames");
    dev->ops->link_poll(dev);
    cr_assert_eq(dev->stats.rx_missed, 5, "MPC is clear-on-read: counted once");
    cr_assert_eq(drain_and_check(&next_out, 32), 15);
    assert_no_violations();
}

Test(e1000, rx_missed_counts_each_frame_once_also_where_mpc_does_not_clear)
{
    struct pktbuf *pkts[32];

    model->mpc_sticky = true;                      /* QEMU's MPC */
    create_ok(16, 16);
    for (uint32_t s = 0; s < 20; s++)
        inject(s);
    dev->ops->link_poll(dev);
    dev->ops->link_poll(dev);
    cr_assert_eq(dev->stats.rx_missed, 5);
    uint16_t n = rx(pkts, 32);
    pktbuf_free_bulk(pkts, n);
    for (uint32_t s = 0; s < 18; s++)
        inject(s);
    dev->ops->link_poll(dev);
    cr_assert_eq(dev->stats.rx_missed, 8, "3 more missed, the old 5 not again");
    assert_no_violations();
}

Test(e1000, rx_accepts_broadcast_and_own_unicast_but_not_others_unless_promisc)
{
    static const uint8_t bcast[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
    static const uint8_t other[6] = { 0x52, 0x54, 0x00, 0x99, 0x99, 0x99 };
    static const uint8_t mcast[6] = { 0x01, 0x00, 0x5e, 0x00, 0x00, 0x01 };
    uint8_t f[FRAME_LEN];
    struct pktbuf *pkts[8];

    create_ok(16, 16);
    make_frame(f, 1, FRAME_LEN, bcast);
    cr_assert(model_e1000_rx(model, f, FRAME_LEN), "RCTL.BAM");
    make_frame(f, 2, FRAME_LEN, other);
    cr_assert_not(model_e1000_rx(model, f, FRAME_LEN), "another host's unicast");
    make_frame(f, 3, FRAME_LEN, mcast);
    cr_assert_not(model_e1000_rx(model, f, FRAME_LEN), "multicast with an empty MTA");
    dev->ops->set_promisc(dev, true);
    make_frame(f, 4, FRAME_LEN, other);
    cr_assert(model_e1000_rx(model, f, FRAME_LEN), "UPE");
    make_frame(f, 5, FRAME_LEN, mcast);
    cr_assert(model_e1000_rx(model, f, FRAME_LEN), "MPE");
    uint16_t n = rx(pkts, 8);
    cr_assert_eq(n, 3);
    pktbuf_free_bulk(pkts, n);
    assert_no_violations();
}

/* ======================================================================
 * Transmit
 * ====================================================================== */

Test(e1000, tx_sends_frames_intact_and_in_order_across_ring_wrap)
{
    struct pktbuf *pkts[7];
    uint32_t seq = 0;
    uint64_t bytes = 0;

    create_ok(16, 16);
    uint32_t baseline = in_use();
    while (seq < 100) {
        uint16_t nb = (uint16_t)(100 - seq < 7 ? 100 - seq : 7);
        for (uint16_t i = 0; i < nb; i++) {
            bytes += len_for(seq + i);
            pkts[i] = tx_packet(seq + i);
        }
        cr_assert_eq(tx(pkts, nb), nb, "synchronous wire: the ring never fills");
        seq += nb;
    }
    cr_assert_eq(model->nb_sent, 100);
    for (uint32_t s = 0; s < 100; s++)
        check_frame(model->sent[s].data, model->sent[s].len, s);
    cr_assert_eq(dev->stats.tx_packets, 100);
    cr_assert_eq(dev->stats.tx_bytes, bytes);
    cr_assert_eq(dev->stats.tx_full, 0);
    cr_assert_leq(in_use(), baseline + 15, "at most a ring's worth awaits reclaim");
    assert_no_violations();
}

Test(e1000, tx_ring_full_returns_short_count_and_counts_tx_full)
{
    struct pktbuf *pkts[20];

    create_ok(16, 16);
    model_e1000_tx_hold(model, true);              /* a wire that does not drain */
    for (uint32_t i = 0; i < 20; i++)
        pkts[i] = tx_packet(i);
    cr_assert_eq(tx(pkts, 20), 15, "16 slots, one kept empty");
    cr_assert_eq(dev->stats.tx_full, 5);
    cr_assert_eq(dev->stats.tx_packets, 15);
    cr_assert_eq(tx(pkts + 15, 5), 0, "nothing completed, nothing reclaimed");
    cr_assert_eq(dev->stats.tx_full, 10);
    model_e1000_tx_release(model);
    cr_assert_eq(model->nb_sent, 15);
    cr_assert_eq(tx(pkts + 15, 5), 5, "DD written back: slots reclaimed");
    cr_assert_eq(model->nb_sent, 20);
    for (uint32_t s = 0; s < 20; s++)
        check_frame(model->sent[s].data, model->sent[s].len, s);
    assert_no_violations();
}

Test(e1000, tx_reclaims_completed_buffers_in_one_bulk_scan_below_the_threshold)
{
    struct pktbuf *pkts[32];

    create_ok(16, 64);                             /* 63 usable TX slots, threshold 32 */
    uint32_t baseline = in_use();
    for (uint32_t i = 0; i < 31; i++)
        pkts[i] = tx_packet(i);
    cr_assert_eq(tx(pkts, 31), 31);
    pkts[0] = tx_packet(31);
    cr_assert_eq(tx(pkts, 1), 1);
    struct e1000_xstats xs;
    e1000_get_xstats(dev, &xs);
    cr_assert_eq(xs.tx_reclaims, 0, "32 free slots left: no reclaim yet");
    cr_assert_eq(in_use(), baseline + 32, "sent buffers wait in the ring");
    pkts[0] = tx_packet(32);
    cr_assert_eq(tx(pkts, 1), 1);
    e1000_get_xstats(dev, &xs);
    cr_assert_eq(xs.tx_reclaims, 1, "one scan");
    cr_assert_eq(in_use(), baseline + 1, "32 buffers back to the pool in that scan");
    cr_assert_eq(pool->nb_put_rejected, 0);
    assert_no_violations();
}

Test(e1000, tx_takes_and_frees_a_zero_length_buffer_without_describing_it)
{
    struct pktbuf *pkts[3];

    create_ok(16, 16);
    uint32_t baseline = in_use();
    pkts[0] = tx_packet(0);
    pkts[1] = tx_packet(1);
    pkts[1]->data_len = 0;
    pkts[2] = tx_packet(2);
    cr_assert_eq(tx(pkts, 3), 3);
    cr_assert_eq(model->nb_sent, 2);
    check_frame(model->sent[0].data, model->sent[0].len, 0);
    check_frame(model->sent[1].data, model->sent[1].len, 2);
    cr_assert_eq(dev->stats.tx_packets, 2);
    struct e1000_xstats xs;
    e1000_get_xstats(dev, &xs);
    cr_assert_eq(xs.tx_bad_len, 1);
    cr_assert_eq(in_use(), baseline + 2);
    assert_no_violations();
}

Test(e1000, tx_burst_of_zero_rings_no_doorbell)
{
    create_ok(16, 16);
    uint32_t tdt_writes = model->nb_tdt_writes;
    cr_assert_eq(tx(NULL, 0), 0);
    cr_assert_eq(model->nb_tdt_writes, tdt_writes);
    assert_no_violations();
}

/* ======================================================================
 * Link, doorbells, promiscuous mode, stop
 * ====================================================================== */

Test(e1000, link_poll_counts_link_down_and_up)
{
    create_ok(16, 16);
    cr_assert(dev->ops->link_poll(dev));
    cr_assert_eq(dev->stats.link_changes, 0);
    model_e1000_set_link(model, false);
    cr_assert_not(dev->ops->link_poll(dev));
    cr_assert_not(dev->link_up);
    cr_assert_not(dev->ops->link_poll(dev));
    cr_assert_eq(dev->stats.link_changes, 1);
    model_e1000_set_link(model, true);
    cr_assert(dev->ops->link_poll(dev));
    cr_assert(dev->link_up);
    cr_assert_eq(dev->stats.link_changes, 2);
    assert_no_violations();
}

Test(e1000, create_reports_link_down_when_the_cable_is_out)
{
    model_e1000_set_link(model, false);
    create_ok(16, 16);
    cr_assert_not(dev->link_up);
    assert_no_violations();
}

Test(e1000, one_doorbell_per_burst_for_rx_and_tx)
{
    struct pktbuf *pkts[32];

    create_ok(64, 64);
    for (uint32_t s = 0; s < 32; s++)
        cr_assert(inject(s));
    uint32_t rdt_writes = model->nb_rdt_writes, tdt_writes = model->nb_tdt_writes;
    cr_assert_eq(rx(pkts, 32), 32);
    cr_assert_eq(model->nb_rdt_writes, rdt_writes + 1, "one RDT write for 32 frames");
    cr_assert_eq(tx(pkts, 32), 32);
    cr_assert_eq(model->nb_tdt_writes, tdt_writes + 1, "one TDT write for 32 frames");
    cr_assert_eq(model->nb_sent, 32);
    assert_no_violations();
}

Test(e1000, driver_never_reads_head_registers)
{
    struct pktbuf *pkts[32];
    uint32_t next_out = 0;

    create_ok(16, 16);
    for (int round = 0; round < 10; round++) {
        for (uint32_t s = 0; s < 10; s++)
            inject(round * 10 + s);
        uint16_t n = rx(pkts, 32);
        for (uint16_t i = 0; i < n; i++)
            check_frame(pktbuf_data(pkts[i]), pkts[i]->data_len, next_out++);
        cr_assert_eq(tx(pkts, n), n);
        dev->ops->link_poll(dev);
    }
    dev->ops->stop(dev);
    cr_assert_eq(model->nb_head_reads, 0);
    assert_no_violations();
}

Test(e1000, promisc_at_create_sets_upe_and_mpe)
{
    cr_assert_eq(create_port(16, 16, true), 0);
    uint32_t rctl = model_e1000_peek(model, E1000_RCTL);
    cr_assert_eq(rctl & (E1000_RCTL_UPE | E1000_RCTL_MPE), E1000_RCTL_UPE | E1000_RCTL_MPE);
    cr_assert(dev->promisc);
    cr_assert_eq(model->nb_rctl_writes, 1);
    assert_no_violations();
}

Test(e1000, set_promisc_writes_rctl_only_when_it_changes)
{
    create_ok(16, 16);
    dev->ops->set_promisc(dev, false);
    cr_assert_eq(model->nb_rctl_writes, 1, "already off: no write");
    dev->ops->set_promisc(dev, true);
    cr_assert_eq(model->nb_rctl_writes, 2);
    cr_assert(model_e1000_peek(model, E1000_RCTL) & E1000_RCTL_UPE);
    cr_assert(model_e1000_peek(model, E1000_RCTL) & E1000_RCTL_EN, "still receiving");
    dev->ops->set_promisc(dev, true);
    cr_assert_eq(model->nb_rctl_writes, 2, "already on: no write");
    dev->ops->set_promisc(dev, false);
    cr_assert_eq(model->nb_rctl_writes, 3);
    cr_assert_eq(model_e1000_peek(model, E1000_RCTL) & (E1000_RCTL_UPE | E1000_RCTL_MPE), 0);
    cr_assert_not(dev->promisc);
    assert_no_violations();
}

Test(e1000, stop_returns_every_buffer_to_the_pool)
{
    struct pktbuf *pkts[32];
    uint32_t baseline = in_use();

    create_ok(32, 32);
    for (uint32_t s = 0; s < 10; s++)
        inject(s);                                 /* left in the RX ring */
    for (uint32_t i = 0; i < 8; i++)
        pkts[i] = tx_packet(i);
    cr_assert_eq(tx(pkts, 8), 8);                  /* sent, not yet reclaimed */
    model_e1000_tx_hold(model, true);
    for (uint32_t i = 0; i < 8; i++)
        pkts[i] = tx_packet(8 + i);
    cr_assert_eq(tx(pkts, 8), 8);                  /* never sent */
    cr_assert_gt(in_use(), baseline + 32);

    dev->ops->stop(dev);
    cr_assert_eq(in_use(), baseline, "in_use %u, baseline %u", in_use(), baseline);
    cr_assert_eq(pool->nb_put_rejected, 0, "no buffer freed twice");
    cr_assert_eq(model_e1000_peek(model, E1000_RCTL) & E1000_RCTL_EN, 0);
    cr_assert_eq(model_e1000_peek(model, E1000_TCTL) & E1000_TCTL_EN, 0);
    assert_no_violations();
}

Test(e1000, bursts_after_stop_move_nothing)
{
    struct pktbuf *pkts[4];

    create_ok(16, 16);
    inject(0);
    dev->ops->stop(dev);
    uint32_t baseline = in_use();
    cr_assert_eq(rx(pkts, 4), 0);
    pkts[0] = tx_packet(0);
    cr_assert_eq(tx(pkts, 1), 0, "the caller keeps and frees what was not taken");
    cr_assert_eq(dev->stats.tx_full, 1);
    pktbuf_free(pkts[0]);
    dev->ops->stop(dev);                           /* twice is harmless */
    cr_assert_eq(in_use(), baseline);
    cr_assert_eq(pool->nb_put_rejected, 0);
    assert_no_violations();
}

Test(e1000, reflect_loop_keeps_the_pool_balanced)
{
    struct pktbuf *pkts[32];
    uint32_t baseline = in_use(), next_in = 0, next_out = 0;

    create_ok(64, 64);
    for (int round = 0; round < 300; round++) {
        uint32_t burst = 1 + (uint32_t)round % 40;
        for (uint32_t i = 0; i < burst; i++)
            if (inject(next_in))
                next_in++;
        uint16_t n = rx(pkts, 32);
        for (uint16_t i = 0; i < n; i++)
            check_frame(pktbuf_data(pkts[i]), pkts[i]->data_len, next_out++);
        uint16_t sent = tx(pkts, n);
        if (sent < n)
            pktbuf_free_bulk(pkts + sent, n - sent);
    }
    dev->ops->stop(dev);
    cr_assert_eq(in_use(), baseline);
    cr_assert_eq(pool->nb_put_rejected, 0);
    cr_assert_eq(dev->stats.rx_packets, dev->stats.tx_packets + dev->stats.tx_full);
    assert_no_violations();
}

/* ======================================================================
 * The model's own strictness: raw register sequences that break one rule
 * ====================================================================== */

static void raw_write(uint32_t off, uint32_t val)
{
    mmio_write32((uint8_t *)(uintptr_t)model_e1000_bar0(model) + off, val);
}

static uint32_t raw_read(uint32_t off)
{
    return mmio_read32((uint8_t *)(uintptr_t)model_e1000_bar0(model) + off);
}

/* A correct minimal TX ring of n slots; returns it. */
static struct e1000_tdesc_legacy *raw_tx_ring(uint32_t n)
{
    struct e1000_tdesc_legacy *ring = dma_alloc(n * 16, 128);

    raw_write(E1000_TDBAL, (uint32_t)dma_addr(ring));
    raw_write(E1000_TDBAH, (uint32_t)(dma_addr(ring) >> 32));
    raw_write(E1000_TDLEN, n * 16);
    raw_write(E1000_TDH, 0);
    raw_write(E1000_TDT, 0);
    raw_write(E1000_TCTL, E1000_TCTL_EN);
    return ring;
}

static void raw_tx_desc(struct e1000_tdesc_legacy *d, const void *buf, uint16_t len, uint8_t cmd)
{
    memset(d, 0, sizeof(*d));
    d->buffer_addr = dma_addr(buf);
    d->length = len;
    d->cmd = cmd;
}

TestSuite(e1000_model, .init = setup, .fini = teardown, .timeout = 20);

Test(e1000_model, accepts_a_correct_raw_sequence)
{
    struct e1000_tdesc_legacy *ring = raw_tx_ring(8);
    uint8_t *buf = dma_alloc(64, 64);

    raw_tx_desc(&ring[0], buf, 64, E1000_TXD_CMD_EOP | E1000_TXD_CMD_RS);
    raw_write(E1000_TDT, 1);
    cr_assert_eq(model->nb_sent, 1);
    cr_assert(ring[0].status & E1000_TXD_STAT_DD);
    assert_no_violations();
}

Test(e1000_model, flags_an_unaligned_ring_base)
{
    raw_write(E1000_RDBAL, 0x1008);
    cr_assert_eq(model->nb_violations, 1, "%s", model->log);
}

Test(e1000_model, flags_a_ring_length_not_a_multiple_of_128)
{
    raw_write(E1000_TDLEN, 8 * 16 + 16);
    cr_assert_eq(model->nb_violations, 1, "%s", model->log);
}

Test(e1000_model, flags_enabling_rx_before_the_ring_is_programmed)
{
    raw_write(E1000_RCTL, E1000_RCTL_EN);
    cr_assert_eq(model->nb_violations, 1, "%s", model->log);
}

Test(e1000_model, flags_any_nonzero_ims_write)
{
    raw_write(E1000_IMS, 0x80);
    cr_assert_eq(model->nb_violations, 1, "%s", model->log);
}

Test(e1000_model, flags_a_head_read_once_the_rings_run)
{
    (void)raw_read(E1000_TDH);
    cr_assert_eq(model->nb_violations, 0, "before enabling it is only counted");
    raw_tx_ring(8);
    (void)raw_read(E1000_TDH);
    cr_assert_eq(model->nb_violations, 1, "%s", model->log);
    cr_assert_eq(model->nb_head_reads, 2);
}

Test(e1000_model, flags_a_second_doorbell_in_one_burst)
{
    struct e1000_tdesc_legacy *ring = raw_tx_ring(8);
    uint8_t *buf = dma_alloc(64, 64);

    raw_tx_desc(&ring[0], buf, 64, E1000_TXD_CMD_EOP | E1000_TXD_CMD_RS);
    raw_tx_desc(&ring[1], buf, 64, E1000_TXD_CMD_EOP | E1000_TXD_CMD_RS);
    model_e1000_burst_begin(model);
    raw_write(E1000_TDT, 1);
    raw_write(E1000_TDT, 2);
    model_e1000_burst_end(model);
    cr_assert_eq(model->nb_violations, 1, "%s", model->log);
}

Test(e1000_model, flags_a_tx_run_whose_last_descriptor_has_no_rs)
{
    struct e1000_tdesc_legacy *ring = raw_tx_ring(8);
    uint8_t *buf = dma_alloc(64, 64);

    raw_tx_desc(&ring[0], buf, 64, E1000_TXD_CMD_EOP | E1000_TXD_CMD_RS);
    raw_tx_desc(&ring[1], buf, 64, E1000_TXD_CMD_EOP);
    raw_write(E1000_TDT, 2);
    cr_assert_eq(model->nb_violations, 1, "%s", model->log);
    cr_assert_eq(ring[1].status & E1000_TXD_STAT_DD, 0, "no RS, no DD (as QEMU)");
}

Test(e1000_model, flags_tx_descriptors_of_bad_length_or_outside_dma_memory)
{
    struct e1000_tdesc_legacy *ring = raw_tx_ring(8);
    static uint8_t not_dma[64];
    uint8_t *buf = dma_alloc(64, 64);

    raw_tx_desc(&ring[0], buf, 0, E1000_TXD_CMD_EOP | E1000_TXD_CMD_RS);
    raw_tx_desc(&ring[1], not_dma, 64, E1000_TXD_CMD_EOP | E1000_TXD_CMD_RS);
    raw_write(E1000_TDT, 2);
    cr_assert_eq(model->nb_violations, 2, "%s", model->log);
}

Test(e1000_model, flags_a_tail_that_passes_the_head_or_the_ring)
{
    struct e1000_tdesc_legacy *ring = raw_tx_ring(8);
    uint8_t *buf = dma_alloc(64, 64);

    for (int i = 0; i < 8; i++)
        raw_tx_desc(&ring[i], buf, 64, E1000_TXD_CMD_EOP | E1000_TXD_CMD_RS);
    model_e1000_tx_hold(model, true);              /* TDH stays at 0 */
    raw_write(E1000_TDT, 7);                       /* 7 of 8 slots: allowed */
    cr_assert_eq(model->nb_violations, 0, "%s", model->log);
    raw_write(E1000_TDT, 0);                       /* the 8th: tail meets head */
    cr_assert_eq(model->nb_violations, 1, "%s", model->log);
    raw_write(E1000_TDT, 8);                       /* beyond the ring */
    cr_assert_eq(model->nb_violations, 2, "%s", model->log);
}

Test(e1000_model, flags_an_rx_slot_handed_over_with_dd_set)
{
    struct e1000_rdesc *ring = dma_alloc(8 * 16, 128);
    uint8_t *bufs = dma_alloc(8 * 2048, 64);

    for (int i = 0; i < 8; i++)
        ring[i].buffer_addr = dma_addr(bufs + 2048 * i);
    ring[3].status = E1000_RXD_STAT_DD;
    raw_write(E1000_RDBAL, (uint32_t)dma_addr(ring));
    raw_write(E1000_RDBAH, (uint32_t)(dma_addr(ring) >> 32));
    raw_write(E1000_RDLEN, 8 * 16);
    raw_write(E1000_RDT, 7);
    cr_assert_eq(model->nb_violations, 1, "%s", model->log);
}

Test(e1000_model, counts_a_missed_frame_when_no_descriptor_is_free)
{
    uint8_t f[FRAME_LEN];

    create_ok(8, 8);
    make_frame(f, 0, FRAME_LEN, port_mac);
    for (int i = 0; i < 7; i++)
        cr_assert(model_e1000_rx(model, f, FRAME_LEN));
    cr_assert_not(model_e1000_rx(model, f, FRAME_LEN));
    cr_assert_eq(model_e1000_peek(model, E1000_MPC), 1);
    assert_no_violations();
}

Test(e1000_model, resets_registers_on_ctrl_rst_unlike_qemu)
{
    raw_write(E1000_RDLEN, 1024);
    raw_write(E1000_CTRL, E1000_CTRL_RST);
    cr_assert_eq(model_e1000_peek(model, E1000_RDLEN), 0);
    cr_assert(model_e1000_peek(model, E1000_RAH0) & E1000_RAH_AV);
    cr_assert_eq(raw_read(E1000_CTRL) & E1000_CTRL_RST, 0);
    assert_no_violations();
}

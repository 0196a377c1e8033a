/*
 * Tests for the virtio-net driver (drivers/virtio_net.c over virtio_pci.c and
 * virtqueue.c) against the strict software device in
 * tests/models/virtio_net_model.h.
 *
 * Every test ends by asking the model whether the driver broke a rule
 * (assert_no_violations): register order and widths, feature negotiation,
 * ring addresses and alignment, descriptors, and doorbells — none needless,
 * none missing, at most one per queue per burst call (each rx()/tx() below
 * marks a new call). A second suite checks that the model itself catches
 * such mistakes, so a quiet model means something.
 *
 * The doorbell counts with and without VIRTIO_F_RING_EVENT_IDX are printed
 * (cr_log_info) by event_idx_saves_doorbells_only_when_the_device_runs_behind.
 */
#include <criterion/criterion.h>
#include <criterion/logging.h>
#include <stdlib.h>
#include <string.h>

#include "drivers/virtio_net.h"
#include "drivers/virtio_pci.h"
#include "kernel/dma.h"
#include "kernel/io.h"
#include "net/errno.h"
#include "net/pool.h"
#include "tests/models/host_platform.h"
#include "tests/models/virtio_net_model.h"

#define POOL_BUFS      1024u
#define BURST          32u
#define WRAP_FRAMES    70000u            /* past 65535: both 16-bit indices wrap */
#define ETH_TYPE_TEST  0x88b5            /* IEEE local experimental */

static struct vnet_model *model;
static struct pool *pool;
static struct netdev *dev;

static void teardown(void)
{
    if (model) {
        vnet_model_fini(model);
        free(model);
        model = NULL;
    }
    dev = NULL;
    host_mmio_unregister_all();
    host_dma_free_all();
    host_log_clear();
}

TestSuite(virtio_net, .fini = teardown);
TestSuite(virtio_net_model, .fini = teardown);

/* ---- fixtures ---- */

static struct pool *make_pool(uint32_t nb_bufs)
{
    size_t bytes = 4096 + (size_t)nb_bufs * (PKTBUF_STRIDE + 16);
    void *mem = dma_alloc(bytes, 4096);
    struct pool *p;

    cr_assert_not_null(mem);
    p = pool_create(mem, dma_addr(mem), bytes, nb_bufs);
    cr_assert_not_null(p);
    cr_assert_eq(p->nb_bufs, nb_bufs);
    return p;
}

static void model_up(const struct vnet_model_config *mc)
{
    model = calloc(1, sizeof(*model));
    cr_assert_not_null(model);
    cr_assert_eq(vnet_model_init(model, mc), 0);
}

static struct netdev_config port_config(uint16_t rx_size, uint16_t tx_size)
{
    struct netdev_config cfg = {
        .port_id = 3, .rx_ring_size = rx_size, .tx_ring_size = tx_size,
        .promisc = true, .pool = pool,
    };
    return cfg;
}

/* Model with mc, a fresh pool of nb_bufs, and the driver bound to it. */
static void bring_up(const struct vnet_model_config *mc, uint32_t nb_bufs, bool event_idx)
{
    struct virtio_net_opts opts = { .event_idx = event_idx };
    struct netdev_config cfg;
    int rc;

    model_up(mc);
    pool = make_pool(nb_bufs);
    cfg = port_config(512, 512);
    rc = virtio_net_create_opts(&model->ops, &model->dev, &cfg, &opts, &dev);
    cr_assert_eq(rc, 0, "create: %d, log: %s", rc, host_log());
}

static void bring_up_default(void)
{
    struct vnet_model_config mc;

    vnet_model_default_config(&mc);
    bring_up(&mc, POOL_BUFS, true);
}

static void assert_no_violations(void)
{
    unsigned n = vnet_model_nb_violations(model);

    for (unsigned i = 0; i < n && i < VNET_MODEL_MAX_VIOLATIONS; i++)
        cr_log_error("model: %s", vnet_model_violation(model, i));
    cr_assert_eq(n, 0, "%u model violations, first: %s", n, vnet_model_violation(model, 0));
}

static bool violated(const char *needle)
{
    for (unsigned i = 0; i < vnet_model_nb_violations(model) && i < VNET_MODEL_MAX_VIOLATIONS; i++)
        if (strstr(vnet_model_violation(model, i), needle))
            return true;
    return false;
}

/* One driver call each: the model counts doorbells per call. */
static uint16_t rx(struct pktbuf **pkts, uint16_t nb)
{
    vnet_model_mark_burst(model);
    return netdev_rx_burst(dev, pkts, nb);
}

static uint16_t tx(struct pktbuf **pkts, uint16_t nb)
{
    vnet_model_mark_burst(model);
    return netdev_tx_burst(dev, pkts, nb);
}

static struct virtio_net_xstats xstats(void)
{
    struct virtio_net_xstats x;

    virtio_net_get_xstats(dev, &x);
    return x;
}

/* ---- frames: a sequence number and a pattern derived from it ---- */

static void make_frame(uint8_t *p, uint16_t len, uint32_t seq)
{
    static const uint8_t dst[6] = { 0x52, 0x54, 0x00, 0x12, 0x34, 0x56 };
    static const uint8_t src[6] = { 0x02, 0x00, 0x00, 0x00, 0x00, 0x01 };

    memcpy(p, dst, 6);
    memcpy(p + 6, src, 6);
    p[12] = ETH_TYPE_TEST >> 8;
    p[13] = ETH_TYPE_TEST & 0xff;
    for (uint16_t i = 14; i < len; i++)
        p[i] = (uint8_t)(seq * 7 + i);
    if (len >= 18)
        memcpy(p + 14, &seq, 4);
}

static void check_frame(const uint8_t *p, uint16_t len, uint16_t want_len, uint32_t seq)
{
    uint8_t want[VNET_MODEL_FRAME_MAX];

    cr_assert_eq(len, want_len, "frame %u: %u bytes, want %u", seq, len, want_len);
    make_frame(want, want_len, seq);
    cr_assert(memcmp(p, want, want_len) == 0, "frame %u differs", seq);
}

static bool inject(uint16_t len, uint32_t seq)
{
    uint8_t f[VNET_MODEL_FRAME_MAX];

    make_frame(f, len, seq);
    return vnet_model_inject_rx(model, f, len);
}

static struct pktbuf *tx_packet(uint16_t len, uint32_t seq)
{
    struct pktbuf *b = pool_get(pool);

    cr_assert_not_null(b, "pool empty");
    b->data_len = len;
    make_frame(pktbuf_data(b), len, seq);
    return b;
}

static uint16_t frame_len(uint32_t seq)
{
    return (uint16_t)(60 + (seq * 37) % 1455);       /* 60..1514 */
}

/* Receives exactly n frames, checking sequence and content; frees them. */
static void receive_and_check(uint32_t first_seq, uint32_t n)
{
    struct pktbuf *pkts[BURST];
    uint32_t got = 0;

    while (got < n) {
        uint16_t k = rx(pkts, BURST);

        cr_assert_gt(k, 0, "only %u of %u frames arrived", got, n);
        for (uint16_t i = 0; i < k; i++) {
            uint32_t seq = first_seq + got + i;

            check_frame(pktbuf_data(pkts[i]), pkts[i]->data_len, frame_len(seq), seq);
            cr_assert_eq(pkts[i]->port, 3);
            cr_assert_eq(pkts[i]->data_off, PKTBUF_HEADROOM);
        }
        pktbuf_free_bulk(pkts, k);
        got += k;
    }
}

/* ---- bring-up ---- */

/* Each token must appear after the previous one. */
static void assert_in_order(const char *trace, const char *const *tokens, size_t n)
{
    const char *at = trace;

    for (size_t i = 0; i < n; i++) {
        const char *hit = strstr(at, tokens[i]);

        cr_assert_not_null(hit, "\"%s\" missing or out of order in: %s", tokens[i], trace);
        at = hit + strlen(tokens[i]);
    }
}

Test(virtio_net, create_follows_the_spec_initialisation_order)
{
    static const char *const order[] = {
        "reset", "status=01", "status=03", "df_sel=0", "df", "df_sel=1", "df",
        "gf_sel=0", "gf=", "gf_sel=1", "gf=", "status=0b", "msix_config=ffff",
        "q_sel=0", "q_size=256", "q_desc", "q_driver", "q_device", "q_msix=ffff", "q_enable=0",
        "q_sel=1", "q_size=256", "q_desc", "q_driver", "q_device", "q_msix=ffff", "q_enable=1",
        "status=0f", "notify=0",
    };
    struct vnet_model_config mc;

    vnet_model_default_config(&mc);
    mc.initial_status = 0x0f;        /* firmware left it live: the reset must be real */
    bring_up(&mc, POOL_BUFS, true);
    assert_in_order(vnet_model_trace(model), order, sizeof(order) / sizeof(order[0]));
    cr_assert_eq(model->nb_resets, 1);
    cr_assert_eq(model->status, 0x0f);
    cr_assert_eq(model->driver_features, VNM_BIT(VNM_F_VERSION_1) | VNM_BIT(VNM_F_MAC) |
                                         VNM_BIT(VNM_F_STATUS) | VNM_BIT(VNM_F_EVENT_IDX));
    cr_assert_eq(xstats().features, model->driver_features);
    assert_no_violations();
}

Test(virtio_net, create_fills_in_the_port)
{
    uint16_t cmd;

    bring_up_default();
    cr_assert_str_eq(dev->driver, "virtio-net");
    cr_assert_eq(dev->port_id, 3);
    cr_assert_arr_eq(dev->mac, model->cfg.mac, 6);
    cr_assert(dev->link_up);
    cr_assert(dev->promisc);
    cr_assert_eq(dev->rx_ring_size, 256, "min(config 512, device 256)");
    cr_assert_eq(dev->tx_ring_size, 256);
    cr_assert_eq(pool_in_use(pool), 256, "every RX slot holds a buffer");
    cmd = (uint16_t)pci_model_peek32(model->fn, PCI_CFG_COMMAND);
    cr_assert(cmd & PCI_COMMAND_MEMORY);
    cr_assert(cmd & PCI_COMMAND_BUS_MASTER);
    cr_assert(cmd & PCI_COMMAND_INTX_DISABLE);
    cr_assert_eq(model->q[0].msix_vector, VIRTIO_MSI_NO_VECTOR);
    cr_assert_eq(model->q[1].msix_vector, VIRTIO_MSI_NO_VECTOR);
    cr_assert_eq(model->msix_config, VIRTIO_MSI_NO_VECTOR);
    cr_assert_eq(model->q[0].nb_notify, 1, "one doorbell for the filled RX ring");
    cr_assert_eq(model->q[1].nb_notify, 0);
    assert_no_violations();
}

Test(virtio_net, transitional_device_is_driven_through_its_modern_interface)
{
    struct vnet_model_config mc;

    vnet_model_default_config(&mc);
    mc.device_id = VIRTIO_NET_DEVICE_TRANSITIONAL;
    bring_up(&mc, POOL_BUFS, true);
    cr_assert(model->dev.bar[0].is_io, "the legacy I/O BAR is there");
    cr_assert(inject(60, 0));
    receive_and_check(0, 1);
    assert_no_violations();
}

Test(virtio_net, create_fails_cleanly_without_version_1)
{
    struct vnet_model_config mc;
    struct netdev_config cfg;
    struct netdev *out = NULL;

    vnet_model_default_config(&mc);
    mc.features &= ~VNM_BIT(VNM_F_VERSION_1);
    model_up(&mc);
    pool = make_pool(POOL_BUFS);
    cfg = port_config(256, 256);
    cr_assert_eq(virtio_net_create(&model->ops, &model->dev, &cfg, &out), -PM_ENOTSUP);
    cr_assert_null(out);
    cr_assert_not_null(strstr(host_log(), "VIRTIO_F_VERSION_1"), "log: %s", host_log());
    cr_assert(model->status & VIRTIO_STATUS_FAILED);
    cr_assert_not(model->status & VIRTIO_STATUS_FEATURES_OK);
    cr_assert_not(model->q[0].enabled);
    cr_assert_eq(pool_in_use(pool), 0);
    assert_no_violations();
}

Test(virtio_net, create_fails_when_features_ok_does_not_stick)
{
    struct vnet_model_config mc;
    struct netdev_config cfg;
    struct netdev *out = NULL;

    vnet_model_default_config(&mc);
    mc.refuse_features_ok = true;
    model_up(&mc);
    pool = make_pool(POOL_BUFS);
    cfg = port_config(256, 256);
    cr_assert_eq(virtio_net_create(&model->ops, &model->dev, &cfg, &out), -PM_ENOTSUP);
    cr_assert_null(out);
    cr_assert_not_null(strstr(host_log(), "FEATURES_OK did not stick"), "log: %s", host_log());
    cr_assert(model->status & VIRTIO_STATUS_FAILED);
    cr_assert_not(model->status & VIRTIO_STATUS_DRIVER_OK);
    cr_assert_not(model->q[0].enabled, "no queue set up after a refusal");
    cr_assert_eq(pool_in_use(pool), 0);
    assert_no_violations();
}

Test(virtio_net, create_rejects_bad_config_and_foreign_devices)
{
    struct vnet_model_config mc;
    struct netdev_config cfg;
    struct pci_dev other;
    struct netdev *out = NULL;

    vnet_model_default_config(&mc);
    model_up(&mc);
    pool = make_pool(64);
    cfg = port_config(100, 256);
    cr_assert_eq(virtio_net_create(&model->ops, &model->dev, &cfg, &out), -PM_EINVAL);
    cfg = port_config(256, 256);
    cfg.pool = NULL;
    cr_assert_eq(virtio_net_create(&model->ops, &model->dev, &cfg, &out), -PM_EINVAL);
    other = model->dev;
    other.device = 0x1042;           /* virtio-blk */
    cfg = port_config(256, 256);
    cr_assert_eq(virtio_net_create(&model->ops, &other, &cfg, &out), -PM_ENODEV);
    cr_assert(virtio_net_supports(0x1af4, 0x1000));
    cr_assert(virtio_net_supports(0x1af4, 0x1041));
    cr_assert_not(virtio_net_supports(0x8086, 0x100e));
    cr_assert_null(out);
}

Test(virtio_net, ring_sizes_are_the_smaller_of_config_and_device)
{
    struct vnet_model_config mc;
    struct netdev_config cfg;
    struct virtio_net_opts opts = { .event_idx = true };

    vnet_model_default_config(&mc);
    mc.queue_max[0] = 1024;          /* rx_queue_size=1024 */
    model_up(&mc);
    pool = make_pool(POOL_BUFS);
    cfg = port_config(512, 64);
    cr_assert_eq(virtio_net_create_opts(&model->ops, &model->dev, &cfg, &opts, &dev), 0);
    cr_assert_eq(dev->rx_ring_size, 512);
    cr_assert_eq(dev->tx_ring_size, 64);
    cr_assert_eq(model->q[0].size, 512);
    cr_assert_eq(model->q[1].size, 64);
    cr_assert_eq(pool_in_use(pool), 512);
    assert_no_violations();
}

Test(virtio_net, event_idx_can_be_switched_off)
{
    struct vnet_model_config mc;

    vnet_model_default_config(&mc);
    bring_up(&mc, POOL_BUFS, false);
    cr_assert_not(model->driver_features & VNM_BIT(VNM_F_EVENT_IDX));
    cr_assert_not(xstats().features & VNM_BIT(VNM_F_EVENT_IDX));
    for (uint32_t s = 0; s < 100; s++)
        cr_assert(inject(frame_len(s), s));
    receive_and_check(0, 100);
    cr_assert_eq(model->q[0].nb_interrupts, 0, "NO_INTERRUPT keeps the device quiet");
    assert_no_violations();
}

Test(virtio_net, doorbells_follow_the_notify_multiplier)
{
    static const uint32_t mults[] = { 0x1000, 0 };

    for (unsigned i = 0; i < 2; i++) {
        struct vnet_model_config mc;
        struct pktbuf *b;

        vnet_model_default_config(&mc);
        mc.notify_off_multiplier = mults[i];
        bring_up(&mc, POOL_BUFS, true);
        b = tx_packet(60, 1);
        cr_assert_eq(tx(&b, 1), 1);
        cr_assert_eq(model->nb_tx_frames, 1, "multiplier 0x%x", mults[i]);
        cr_assert_eq(model->q[1].nb_notify, 1);
        assert_no_violations();
        vnet_model_fini(model);
        free(model);
        model = NULL;
        host_mmio_unregister_all();
    }
}

/* ---- RX ---- */

Test(virtio_net, rx_delivers_60_and_1514_byte_frames_intact)
{
    struct pktbuf *pkts[4];
    uint16_t k;

    bring_up_default();
    cr_assert(inject(60, 10));
    cr_assert(inject(1514, 11));
    k = rx(pkts, 4);
    cr_assert_eq(k, 2);
    check_frame(pktbuf_data(pkts[0]), pkts[0]->data_len, 60, 10);
    check_frame(pktbuf_data(pkts[1]), pkts[1]->data_len, 1514, 11);
    cr_assert_eq(dev->stats.rx_packets, 2);
    cr_assert_eq(dev->stats.rx_bytes, 60 + 1514);
    cr_assert_neq(pkts[0]->rx_tsc, 0);
    pktbuf_free_bulk(pkts, k);
    cr_assert_eq(pool_in_use(pool), 256, "refilled: back to the ring's worth");
    assert_no_violations();
}

Test(virtio_net, rx_burst_hands_over_at_most_what_was_asked)
{
    struct pktbuf *pkts[VIRTIO_NET_RX_BURST_MAX + 8];

    bring_up_default();
    for (uint32_t s = 0; s < 100; s++)
        cr_assert(inject(frame_len(s), s));
    cr_assert_eq(rx(pkts, 5), 5);
    pktbuf_free_bulk(pkts, 5);
    cr_assert_eq(rx(pkts, VIRTIO_NET_RX_BURST_MAX + 8), VIRTIO_NET_RX_BURST_MAX);
    pktbuf_free_bulk(pkts, VIRTIO_NET_RX_BURST_MAX);
    cr_assert_eq(rx(pkts, VIRTIO_NET_RX_BURST_MAX), 100 - 5 - VIRTIO_NET_RX_BURST_MAX);
    pktbuf_free_bulk(pkts, 100 - 5 - VIRTIO_NET_RX_BURST_MAX);
    assert_no_violations();
}

Test(virtio_net, rx_runs_across_ring_wrap_and_16_bit_index_wrap)
{
    uint32_t seq = 0;

    bring_up_default();
    while (seq < WRAP_FRAMES) {
        uint32_t n = 1 + seq % 97;   /* uneven batches: slots and indices drift */

        if (n > WRAP_FRAMES - seq)
            n = WRAP_FRAMES - seq;
        for (uint32_t i = 0; i < n; i++)
            cr_assert(inject(frame_len(seq + i), seq + i), "frame %u refused", seq + i);
        receive_and_check(seq, n);
        seq += n;
    }
    cr_assert_eq(model->nb_rx_frames, WRAP_FRAMES);
    cr_assert_eq(model->q[0].used_idx, (uint16_t)WRAP_FRAMES, "used idx wrapped");
    cr_assert_eq(dev->stats.rx_packets, WRAP_FRAMES);
    cr_assert_eq(pool_in_use(pool), 256);
    cr_assert_eq(pool->nb_put_rejected, 0);
    cr_assert_leq(model->q[0].nb_interrupts, 1, "used_event keeps up across the wrap");
    cr_log_info("RX %u frames: %llu RX doorbells (avail idx wrapped once)", WRAP_FRAMES,
                (unsigned long long)model->q[0].nb_notify);
    assert_no_violations();
}

Test(virtio_net, rx_with_an_empty_pool_counts_nobuf_and_recovers)
{
    struct vnet_model_config mc;
    struct pktbuf *held[64], *pkts[BURST];
    unsigned nb_held;
    uint32_t seq = 0, got = 0;
    uint16_t k;

    vnet_model_default_config(&mc);
    bring_up(&mc, 256 + 16, true);
    nb_held = pool_get_bulk(pool, held, 64);
    cr_assert_eq(nb_held, 16, "the test empties the pool");
    for (; seq < 64; seq++)
        cr_assert(inject(frame_len(seq), seq));
    k = rx(pkts, BURST);             /* refill finds nothing */
    cr_assert_eq(k, BURST);
    cr_assert_eq(dev->stats.rx_nobuf, 1);
    cr_assert_eq(rx(pkts + k, 0), 0);
    cr_assert_eq(dev->stats.rx_nobuf, 1, "an idle poll retries without counting");
    /* The rest of the ring fills; then the device runs dry. */
    while (inject(frame_len(seq), seq))
        seq++;
    cr_assert_eq(seq, 256, "the ring held exactly its size");
    cr_assert_eq(model->nb_rx_no_buffer, 1);
    /* Buffers come back: the next poll refills and tells the device. */
    pktbuf_free_bulk(held, nb_held);
    pktbuf_free_bulk(pkts, k);
    got = k;
    while (got < seq) {
        k = rx(pkts, BURST);
        cr_assert_gt(k, 0);
        pktbuf_free_bulk(pkts, k);
        got += k;
    }
    cr_assert(inject(frame_len(seq), seq), "the device has buffers again");
    receive_and_check(seq, 1);
    cr_assert_eq(pool_in_use(pool), 256);
    cr_assert_eq(pool->nb_put_rejected, 0);
    assert_no_violations();
}

Test(virtio_net, create_with_a_short_pool_fills_what_it_can)
{
    struct vnet_model_config mc;
    struct netdev_config cfg;
    struct pktbuf *all[64];

    vnet_model_default_config(&mc);
    bring_up(&mc, 100, true);
    cr_assert_eq(pool_in_use(pool), 100, "100 of 256 slots");
    cr_assert_eq(dev->stats.rx_nobuf, 1);
    assert_no_violations();
    /* A pool with nothing left cannot feed a second port. */
    vnet_model_fini(model);
    free(model);
    host_mmio_unregister_all();
    model_up(&mc);
    pool = make_pool(64);
    cr_assert_eq(pool_get_bulk(pool, all, 64), 64);
    cfg = port_config(256, 256);
    cr_assert_eq(virtio_net_create(&model->ops, &model->dev, &cfg, &dev), -PM_ENOMEM);
    cr_assert(model->status & VIRTIO_STATUS_FAILED);
}

/* ---- TX ---- */

Test(virtio_net, tx_sends_60_and_1514_byte_frames_intact)
{
    struct pktbuf *pkts[2];

    bring_up_default();
    pkts[0] = tx_packet(60, 20);
    pkts[1] = tx_packet(1514, 21);
    cr_assert_eq(tx(pkts, 2), 2);
    cr_assert_eq(model->nb_tx_frames, 2);
    check_frame(vnet_model_tx_frame(model, 0)->data, vnet_model_tx_frame(model, 0)->len, 60, 20);
    check_frame(vnet_model_tx_frame(model, 1)->data, vnet_model_tx_frame(model, 1)->len, 1514, 21);
    cr_assert_eq(dev->stats.tx_packets, 2);
    cr_assert_eq(dev->stats.tx_bytes, 60 + 1514);
    assert_no_violations();
}

Test(virtio_net, tx_reclaims_sent_buffers_in_batches)
{
    struct vnet_model_config mc;
    struct pktbuf *pkts[BURST];
    struct pktbuf *none[1];

    vnet_model_default_config(&mc);
    mc.tx_defer = true;              /* the device sends on its own time */
    bring_up(&mc, POOL_BUFS, true);
    for (uint32_t i = 0; i < BURST; i++)
        pkts[i] = tx_packet(frame_len(i), i);
    cr_assert_eq(tx(pkts, BURST), BURST);
    cr_assert_eq(model->nb_tx_frames, 0, "not sent yet");
    cr_assert_eq(pool_in_use(pool), 256 + BURST);
    vnet_model_poll(model);
    cr_assert_eq(model->nb_tx_frames, BURST);
    cr_assert_eq(pool_in_use(pool), 256 + BURST, "sent, not yet taken back");
    cr_assert_eq(tx(none, 0), 0);    /* the next call takes all back at once */
    cr_assert_eq(xstats().tx_reclaimed, BURST);
    cr_assert_eq(pool_in_use(pool), 256);
    for (uint32_t i = 0; i < BURST; i++) {
        const struct vnet_model_frame *f = vnet_model_tx_frame(model, i);

        check_frame(f->data, f->len, frame_len(i), i);
    }
    assert_no_violations();
}

Test(virtio_net, an_idle_rx_poll_reclaims_tx_so_in_use_settles)
{
    struct pktbuf *pkts[BURST];

    bring_up_default();
    for (uint32_t i = 0; i < 8; i++)
        pkts[i] = tx_packet(60, i);
    cr_assert_eq(tx(pkts, 8), 8);
    cr_assert_eq(pool_in_use(pool), 256 + 8);
    cr_assert_eq(rx(pkts, BURST), 0);
    cr_assert_eq(pool_in_use(pool), 256);
    assert_no_violations();
}

Test(virtio_net, tx_takes_what_fits_in_a_full_queue_and_counts_the_rest)
{
    struct pktbuf *pkts[300];
    uint16_t taken;

    bring_up_default();
    vnet_model_tx_block(model, true);           /* the peer stopped reading */
    for (uint32_t i = 0; i < 300; i++)
        pkts[i] = tx_packet(frame_len(i), i);
    taken = tx(pkts, 300);
    cr_assert_eq(taken, 256, "the ring's size");
    cr_assert_eq(dev->stats.tx_full, 44);
    cr_assert_eq(tx(pkts + taken, 44), 0, "still full");
    cr_assert_eq(dev->stats.tx_full, 88);
    vnet_model_tx_block(model, false);
    cr_assert_eq(model->nb_tx_frames, 256);
    cr_assert_eq(tx(pkts + taken, 44), 44, "room again after the reclaim");
    cr_assert_eq(model->nb_tx_frames, 300);
    for (uint32_t i = 0; i < 300; i++) {
        const struct vnet_model_frame *f = vnet_model_tx_frame(model, i);

        check_frame(f->data, f->len, frame_len(i), i);
    }
    cr_assert_eq(tx(pkts, 0), 0);
    cr_assert_eq(pool_in_use(pool), 256);
    assert_no_violations();
}

Test(virtio_net, tx_runs_across_ring_wrap_and_16_bit_index_wrap)
{
    uint32_t seq = 0;

    bring_up_default();
    while (seq < WRAP_FRAMES) {
        struct pktbuf *pkts[BURST];
        uint32_t n = 1 + seq % BURST;

        if (n > WRAP_FRAMES - seq)
            n = WRAP_FRAMES - seq;
        for (uint32_t i = 0; i < n; i++)
            pkts[i] = tx_packet(frame_len(seq + i), seq + i);
        cr_assert_eq(tx(pkts, (uint16_t)n), n);
        for (uint32_t i = 0; i < n; i++) {
            const struct vnet_model_frame *f = vnet_model_tx_frame(model, seq + i);

            cr_assert_not_null(f);
            check_frame(f->data, f->len, frame_len(seq + i), seq + i);
        }
        seq += n;
    }
    cr_assert_eq(model->q[1].used_idx, (uint16_t)WRAP_FRAMES, "used idx wrapped");
    cr_assert_leq(model->q[1].nb_interrupts, 1, "used_event keeps up across the wrap");
    cr_assert_eq(dev->stats.tx_packets, WRAP_FRAMES);
    cr_assert_eq(tx(NULL, 0), 0);
    cr_assert_eq(pool_in_use(pool), 256);
    cr_assert_eq(pool->nb_put_rejected, 0);
    assert_no_violations();
}

Test(virtio_net, tx_drops_packets_without_room_for_the_header)
{
    struct pktbuf *pkts[2];

    bring_up_default();
    pkts[0] = tx_packet(60, 0);
    pkts[0]->data_off = 4;           /* an encapsulation ate the headroom */
    pkts[1] = tx_packet(60, 1);
    cr_assert_eq(tx(pkts, 2), 2, "both taken: one sent, one dropped");
    cr_assert_eq(xstats().tx_bad_headroom, 1);
    cr_assert_eq(model->nb_tx_frames, 1);
    check_frame(vnet_model_tx_frame(model, 0)->data, vnet_model_tx_frame(model, 0)->len, 60, 1);
    assert_no_violations();
}

/* ---- doorbells: EVENT_IDX against NO_NOTIFY ---- */

struct kick_counts {
    uint64_t tx, rx, tx_interrupts, rx_interrupts;
};

/*
 * 100 rounds of 4 TX bursts of 8 frames and one RX burst of 8 frames, then
 * one turn of the device's main loop. Returns the doorbells rung.
 */
static struct kick_counts run_pattern(bool notify_async, bool tx_defer, bool event_idx)
{
    struct vnet_model_config mc;
    struct kick_counts c;
    uint32_t seq = 0, rseq = 0;

    vnet_model_default_config(&mc);
    mc.notify_async = notify_async;
    mc.tx_defer = tx_defer;
    bring_up(&mc, POOL_BUFS, event_idx);
    for (int round = 0; round < 100; round++) {
        for (int b = 0; b < 4; b++) {
            struct pktbuf *pkts[8];

            for (int i = 0; i < 8; i++)
                pkts[i] = tx_packet(frame_len(seq), seq), seq++;
            cr_assert_eq(tx(pkts, 8), 8);
        }
        for (int i = 0; i < 8; i++)
            cr_assert(inject(frame_len(rseq + (uint32_t)i), rseq + (uint32_t)i));
        receive_and_check(rseq, 8);
        rseq += 8;
        vnet_model_poll(model);
    }
    cr_assert_eq(tx(NULL, 0), 0);
    vnet_model_poll(model);
    cr_assert_eq(model->nb_tx_frames, seq);
    assert_no_violations();
    c.tx = model->q[1].nb_notify;
    c.rx = model->q[0].nb_notify;
    c.tx_interrupts = model->q[1].nb_interrupts;
    c.rx_interrupts = model->q[0].nb_interrupts;
    cr_assert_eq(xstats().tx_notify, c.tx, "the driver counts what the device saw");
    vnet_model_fini(model);
    free(model);
    model = NULL;
    host_mmio_unregister_all();
    return c;
}

Test(virtio_net, event_idx_saves_doorbells_only_when_the_device_runs_behind)
{
    /* ioeventfd/vhost style: the doorbell is only queued; the device reacts
     * at its next main-loop turn. */
    struct kick_counts async_flags = run_pattern(true, true, false);
    struct kick_counts async_event = run_pattern(true, true, true);
    /* QEMU under TCG: the doorbell is handled inside the MMIO write, which
     * turns notifications off until the TX bottom half has run. */
    struct kick_counts tcg_flags = run_pattern(false, true, false);
    struct kick_counts tcg_event = run_pattern(false, true, true);

    cr_log_info("doorbells for 400 TX bursts + 100 RX bursts (TX/RX):");
    cr_log_info("  async device : NO_NOTIFY %llu/%llu, EVENT_IDX %llu/%llu",
                (unsigned long long)async_flags.tx, (unsigned long long)async_flags.rx,
                (unsigned long long)async_event.tx, (unsigned long long)async_event.rx);
    cr_log_info("  TCG-like     : NO_NOTIFY %llu/%llu, EVENT_IDX %llu/%llu",
                (unsigned long long)tcg_flags.tx, (unsigned long long)tcg_flags.rx,
                (unsigned long long)tcg_event.tx, (unsigned long long)tcg_event.rx);
    cr_log_info("  interrupts the device would raise (TX/RX): NO_INTERRUPT %llu/%llu, "
                "used_event %llu/%llu",
                (unsigned long long)tcg_flags.tx_interrupts,
                (unsigned long long)tcg_flags.rx_interrupts,
                (unsigned long long)tcg_event.tx_interrupts,
                (unsigned long long)tcg_event.rx_interrupts);
    cr_assert_lt(async_event.tx, async_flags.tx);
    cr_assert_eq(async_flags.tx, 400, "flags: every burst while the device has not looked");
    cr_assert_eq(async_event.tx, 100, "event idx: once per device turn");
    cr_assert_eq(tcg_flags.tx, 100);
    cr_assert_eq(tcg_event.tx, 100, "no gain when the device turns notifications off itself");
    cr_assert_eq(tcg_flags.rx, 1, "the RX ring never ran dry: only the first fill");
    cr_assert_eq(tcg_event.rx, 1);
    cr_assert_eq(tcg_flags.tx_interrupts + tcg_flags.rx_interrupts, 0);
    cr_assert_leq(tcg_event.tx_interrupts, 1, "used_event far behind: the first one only");
    cr_assert_leq(tcg_event.rx_interrupts, 1);
}

/* ---- link, promiscuity, device errors, stop ---- */

Test(virtio_net, link_follows_the_config_status)
{
    bring_up_default();
    cr_assert(dev->ops->link_poll(dev));
    vnet_model_set_link(model, false);
    cr_assert_not(dev->ops->link_poll(dev));
    cr_assert_not(dev->link_up);
    cr_assert_eq(dev->stats.link_changes, 1);
    cr_assert_not(inject(60, 0), "QEMU discards frames while the link is down");
    vnet_model_set_link(model, true);
    cr_assert(dev->ops->link_poll(dev));
    cr_assert_eq(dev->stats.link_changes, 2);
    cr_assert(dev->ops->link_poll(dev));
    cr_assert_eq(dev->stats.link_changes, 2, "no change, no count");
    cr_assert(inject(frame_len(1), 1));
    receive_and_check(1, 1);
    assert_no_violations();
}

Test(virtio_net, link_is_up_when_the_device_has_no_status_field)
{
    struct vnet_model_config mc;

    vnet_model_default_config(&mc);
    mc.features &= ~VNM_BIT(VNM_F_STATUS);
    mc.link_up = false;              /* not visible to the driver */
    bring_up(&mc, POOL_BUFS, true);
    cr_assert(dev->link_up);
    cr_assert(dev->ops->link_poll(dev));
    assert_no_violations();
}

Test(virtio_net, tx_with_the_link_down_comes_back_unsent)
{
    struct pktbuf *pkts[4];

    bring_up_default();
    vnet_model_set_link(model, false);
    for (uint32_t i = 0; i < 4; i++)
        pkts[i] = tx_packet(60, i);
    cr_assert_eq(tx(pkts, 4), 4);
    cr_assert_eq(model->nb_tx_frames, 0);
    cr_assert_eq(model->nb_tx_dropped, 4);
    cr_assert_eq(tx(pkts, 0), 0);
    cr_assert_eq(pool_in_use(pool), 256, "dropped buffers come back too");
    assert_no_violations();
}

Test(virtio_net, promiscuous_mode_cannot_be_turned_off)
{
    bring_up_default();
    dev->ops->set_promisc(dev, false);
    cr_assert(dev->promisc, "QEMU without a control queue delivers everything");
    cr_assert_not_null(strstr(host_log(), "promiscuous"), "log: %s", host_log());
    dev->ops->set_promisc(dev, true);
    cr_assert(dev->promisc);
    assert_no_violations();
}

Test(virtio_net, a_broken_device_reads_as_link_down)
{
    bring_up_default();
    vnet_model_break(model, "test");
    cr_assert_not(dev->ops->link_poll(dev));
    cr_assert(xstats().device_needs_reset);
    cr_assert_not_null(strstr(host_log(), "needs reset"), "log: %s", host_log());
}

Test(virtio_net, a_broken_device_holds_buffers_only_until_stop)
{
    struct pktbuf *pkts[300];
    uint16_t taken;

    bring_up_default();
    vnet_model_break(model, "test");
    cr_assert_not(dev->ops->link_poll(dev));
    for (uint32_t i = 0; i < 300; i++)
        pkts[i] = tx_packet(60, i);
    taken = tx(pkts, 300);                     /* posted, never taken by the device */
    cr_assert_eq(taken, 256, "the ring's size");
    cr_assert_eq(dev->stats.tx_full, 44);
    pktbuf_free_bulk(pkts + taken, 44);        /* the caller's, as the pipeline does */
    cr_assert_eq(model->nb_tx_frames, 0);
    cr_assert_eq(pool_in_use(pool), 256 + 256, "RX ring and TX ring full");
    dev->ops->stop(dev);
    cr_assert_eq(pool_in_use(pool), 0, "stop resets the device and takes every buffer back");
    cr_assert_eq(pool->nb_put_rejected, 0);
}

Test(virtio_net, stop_returns_every_buffer_to_the_pool)
{
    struct vnet_model_config mc;
    struct pktbuf *pkts[BURST];

    vnet_model_default_config(&mc);
    mc.tx_defer = true;
    model_up(&mc);
    pool = make_pool(POOL_BUFS);
    cr_assert_eq(pool_in_use(pool), 0, "baseline");
    {
        struct netdev_config cfg = port_config(256, 256);

        cr_assert_eq(virtio_net_create(&model->ops, &model->dev, &cfg, &dev), 0);
    }
    for (uint32_t i = 0; i < 20; i++)
        pkts[i] = tx_packet(60, i);
    cr_assert_eq(tx(pkts, 20), 20);            /* in flight, unsent */
    for (uint32_t i = 0; i < 10; i++)
        cr_assert(inject(60, i));              /* received, not yet collected */
    cr_assert_eq(pool_in_use(pool), 256 + 20);
    dev->ops->stop(dev);
    cr_assert_eq(pool_in_use(pool), 0);
    cr_assert_eq(pool->nb_put_rejected, 0);
    cr_assert_eq(model->status, 0, "reset");
    cr_assert_not(model->q[0].enabled);
    cr_assert_not(dev->link_up);
    cr_assert_eq(rx(pkts, BURST), 0);
    cr_assert_eq(tx(pkts, 1), 0);
    dev->ops->stop(dev);                       /* twice is harmless */
    cr_assert_eq(pool->nb_put_rejected, 0);
}

/* ---- wake on receive: the RX queue's MSI-X vector, asked for only around a halt ---- */

#define WAKE_MSI_ADDR  0xfee00000ull     /* local APIC, APIC ID 0 */
#define WAKE_MSI_DATA  33u               /* APIC_RX_WAKE_VECTOR: fixed, edge */

static void bring_up_wake(const struct vnet_model_config *mc, bool event_idx)
{
    struct virtio_net_opts opts = {
        .event_idx = event_idx, .wake_msi_addr = WAKE_MSI_ADDR, .wake_msi_data = WAKE_MSI_DATA,
    };
    struct netdev_config cfg;
    int rc;

    model_up(mc);
    pool = make_pool(POOL_BUFS);
    cfg = port_config(512, 512);
    rc = virtio_net_create_opts(&model->ops, &model->dev, &cfg, &opts, &dev);
    cr_assert_eq(rc, 0, "create: %d, log: %s", rc, host_log());
}

static void bring_up_wake_default(bool event_idx)
{
    struct vnet_model_config mc;

    vnet_model_default_config(&mc);
    bring_up_wake(&mc, event_idx);
}

/* QEMU interrupts on the first used entry after a reset whatever used_event
 * says (signalled_used_valid starts false): get it out of the way, so the
 * counts below are about arming only. Returns the next sequence number. */
static uint32_t past_first_frame(void)
{
    cr_assert(inject(frame_len(0), 0));
    receive_and_check(0, 1);
    cr_assert_leq(model->nb_msi, 1);
    return 1;
}

Test(virtio_net, wake_gives_the_rx_queue_msix_vector_0_and_nothing_else)
{
    static const char *const order[] = {
        "msix0.3=1", "msix0.0=fee00000", "msix0.1=0", "msix0.2=21", "msix0.3=0",
        "reset", "msix_config=ffff", "q_sel=0", "q_msix=0000", "q_enable=0",
        "q_sel=1", "q_msix=ffff", "q_enable=1", "status=0f",
    };
    uint16_t devices[] = { VIRTIO_NET_DEVICE_MODERN, VIRTIO_NET_DEVICE_TRANSITIONAL };

    for (unsigned d = 0; d < 2; d++) {
        struct vnet_model_config mc;

        vnet_model_default_config(&mc);
        mc.device_id = devices[d];
        bring_up_wake(&mc, true);
        assert_in_order(vnet_model_trace(model), order, sizeof(order) / sizeof(order[0]));
        cr_assert(pci_model_peek32(model->fn, 0x98) & (PCI_MSIX_CTRL_ENABLE << 16));
        cr_assert_not(pci_model_peek32(model->fn, 0x98) & (PCI_MSIX_CTRL_MASKALL << 16));
        cr_assert_eq(model->msix_table[0][0], (uint32_t)WAKE_MSI_ADDR);
        cr_assert_eq(model->msix_table[0][2], WAKE_MSI_DATA);
        cr_assert_eq(model->msix_table[0][3], 0, "unmasked");
        cr_assert_eq(model->msix_table[1][3], 1, "the other entries stay masked");
        cr_assert_eq(model->q[0].msix_vector, 0);
        cr_assert_eq(model->q[1].msix_vector, VIRTIO_MSI_NO_VECTOR, "no TX interrupts");
        cr_assert_eq(model->msix_config, VIRTIO_MSI_NO_VECTOR, "no config interrupts");
        cr_assert(xstats().rx_wake);
        cr_assert_eq(netdev_rx_wake(dev, 0), NETDEV_WAKE_OFF);
        assert_no_violations();
        teardown();
    }
}

/* While the loop polls, the device stays quiet: the packet path never sees
 * an interrupt, EVENT_IDX or not. */
static void polling_raises_no_interrupts(bool event_idx)
{
    bring_up_wake_default(event_idx);
    uint32_t seq = past_first_frame();
    uint64_t msi = model->nb_msi;

    for (uint32_t round = 0; round < 50; round++) {
        for (uint32_t i = 0; i < 7; i++)
            cr_assert(inject(frame_len(seq + i), seq + i));
        receive_and_check(seq, 7);
        seq += 7;
    }
    cr_assert_eq(model->nb_msi, msi, "%llu interrupts while polling",
                 (unsigned long long)(model->nb_msi - msi));
    if (!event_idx)
        cr_assert_eq(model->nb_msi, 0, "NO_INTERRUPT from the start");
    assert_no_violations();
}

Test(virtio_net, polling_with_wake_set_up_raises_no_interrupts_event_idx)
{
    polling_raises_no_interrupts(true);
}

Test(virtio_net, polling_with_wake_set_up_raises_no_interrupts_flags)
{
    polling_raises_no_interrupts(false);
}

/* Armed, the next frame sends the message once; disarmed, nothing more. */
static void armed_port_interrupts_on_the_next_frame(bool event_idx)
{
    bring_up_wake_default(event_idx);
    uint32_t seq = past_first_frame();
    uint64_t msi = model->nb_msi;

    cr_assert_eq(netdev_rx_wake(dev, 1), NETDEV_WAKE_ARMED);
    cr_assert_eq(model->nb_msi, msi, "arming alone interrupts nothing");
    cr_assert(inject(frame_len(seq), seq));
    cr_assert_eq(model->nb_msi, msi + 1, "the frame woke the CPU");
    cr_assert_eq(model->last_msi_addr, WAKE_MSI_ADDR);
    cr_assert_eq(model->last_msi_data, WAKE_MSI_DATA);
    cr_assert(inject(frame_len(seq + 1), seq + 1));
    /* QEMU: with EVENT_IDX only the entry at used_event interrupts; with
     * flags every frame does until NO_INTERRUPT is back. */
    cr_assert_eq(model->nb_msi, msi + (event_idx ? 1 : 2));
    cr_assert_eq(netdev_rx_wake(dev, 0), NETDEV_WAKE_OFF);
    receive_and_check(seq, 2);
    seq += 2;
    msi = model->nb_msi;
    for (uint32_t i = 0; i < 10; i++)
        cr_assert(inject(frame_len(seq + i), seq + i));
    receive_and_check(seq, 10);
    cr_assert_eq(model->nb_msi, msi, "disarmed again");
    cr_assert_eq(xstats().wake_arms, 1);
    cr_assert_eq(xstats().wake_pending, 0);
    assert_no_violations();
}

Test(virtio_net, armed_port_interrupts_on_the_next_frame_event_idx)
{
    armed_port_interrupts_on_the_next_frame(true);
}

Test(virtio_net, armed_port_interrupts_on_the_next_frame_flags)
{
    armed_port_interrupts_on_the_next_frame(false);
}

/* idle-batch: armed for 8 frames, the device interrupts once, on the 8th
 * waiting frame, counting frames that already waited when it was armed. */
Test(virtio_net, coalesced_wake_interrupts_once_the_batch_waits)
{
    bring_up_wake_default(true);
    uint32_t seq = past_first_frame();
    uint64_t msi = model->nb_msi;

    cr_assert_eq(netdev_rx_wake(dev, 8), NETDEV_WAKE_ARMED);
    for (uint32_t i = 0; i < 7; i++)
        cr_assert(inject(frame_len(seq + i), seq + i));
    cr_assert_eq(model->nb_msi, msi, "7 of 8 frames: no interrupt yet");
    cr_assert(inject(frame_len(seq + 7), seq + 7));
    cr_assert_eq(model->nb_msi, msi + 1, "the 8th frame woke the CPU");
    cr_assert(inject(frame_len(seq + 8), seq + 8));
    cr_assert_eq(model->nb_msi, msi + 1, "once per batch");
    cr_assert_eq(netdev_rx_wake(dev, 0), NETDEV_WAKE_OFF);
    receive_and_check(seq, 9);
    seq += 9;

    for (uint32_t i = 0; i < 3; i++)  /* three wait when the loop arms */
        cr_assert(inject(frame_len(seq + i), seq + i));
    cr_assert_eq(netdev_rx_wake(dev, 3), NETDEV_WAKE_PENDING, "the batch is already there");
    cr_assert_eq(netdev_rx_wake(dev, 0), NETDEV_WAKE_OFF);
    msi = model->nb_msi;
    cr_assert_eq(netdev_rx_wake(dev, 4), NETDEV_WAKE_ARMED, "3 of 4 wait");
    cr_assert(inject(frame_len(seq + 3), seq + 3));
    cr_assert_eq(model->nb_msi, msi + 1, "the 4th waiting frame interrupts");
    cr_assert_eq(netdev_rx_wake(dev, 0), NETDEV_WAKE_OFF);
    receive_and_check(seq, 4);
    cr_assert_eq(xstats().wake_pending, 1);
    assert_no_violations();
}

/* The classic race: a frame lands after the last empty poll and before the
 * arming. The device decided against an interrupt (it was disarmed), so a
 * halt now would sleep on it until the timer: arming must say PENDING. */
static void a_frame_waiting_at_arming_is_reported(bool event_idx)
{
    bring_up_wake_default(event_idx);
    uint32_t seq = past_first_frame();
    uint64_t msi = model->nb_msi;

    cr_assert(inject(frame_len(seq), seq));        /* after the last poll */
    cr_assert_eq(model->nb_msi, msi, "the device did not interrupt for it");
    cr_assert_eq(netdev_rx_wake(dev, 1), NETDEV_WAKE_PENDING);
    cr_assert_eq(model->nb_msi, msi, "and arming does not make it");
    cr_assert_eq(xstats().wake_pending, 1);
    cr_assert_eq(netdev_rx_wake(dev, 0), NETDEV_WAKE_OFF);
    receive_and_check(seq, 1);
    seq++;
    cr_assert_eq(netdev_rx_wake(dev, 1), NETDEV_WAKE_ARMED, "ring empty again");
    cr_assert(inject(frame_len(seq), seq));
    cr_assert_eq(model->nb_msi, msi + 1);
    cr_assert_eq(netdev_rx_wake(dev, 0), NETDEV_WAKE_OFF);
    receive_and_check(seq, 1);
    assert_no_violations();
}

Test(virtio_net, a_frame_waiting_at_arming_is_reported_event_idx)
{
    a_frame_waiting_at_arming_is_reported(true);
}

Test(virtio_net, a_frame_waiting_at_arming_is_reported_flags)
{
    a_frame_waiting_at_arming_is_reported(false);
}

Test(virtio_net, arming_works_across_the_16_bit_index_wrap)
{
    bring_up_wake_default(true);
    uint32_t seq = past_first_frame();

    while (seq < WRAP_FRAMES) {
        uint64_t msi = model->nb_msi;

        for (uint32_t i = 0; i < 31; i++)
            cr_assert(inject(frame_len(seq + i), seq + i));
        receive_and_check(seq, 31);
        seq += 31;
        cr_assert_eq(netdev_rx_wake(dev, 1), NETDEV_WAKE_ARMED);
        cr_assert(inject(frame_len(seq), seq));
        cr_assert_geq(model->nb_msi, msi + 1, "at frame %u", seq);
        cr_assert_eq(netdev_rx_wake(dev, 0), NETDEV_WAKE_OFF);
        receive_and_check(seq, 1);
        seq++;
    }
    /* QEMU re-sends once when the used index wraps past signalled_used (its
     * signalled_used_valid check): a few extra, never one per frame. */
    cr_assert_leq(model->nb_msi, 2 * (WRAP_FRAMES / 32) + 4);
    assert_no_violations();
}

Test(virtio_net, without_msix_the_port_cannot_wake_and_still_works)
{
    struct vnet_model_config mc;

    vnet_model_default_config(&mc);
    mc.msix_vectors = 0;
    bring_up_wake(&mc, true);
    cr_assert_not_null(strstr(host_log(), "no usable MSI-X"), "log: %s", host_log());
    cr_assert_not(xstats().rx_wake);
    cr_assert_eq(netdev_rx_wake(dev, 1), NETDEV_WAKE_NONE);
    cr_assert_eq(netdev_rx_wake(dev, 0), NETDEV_WAKE_NONE);
    cr_assert_eq(model->q[0].msix_vector, VIRTIO_MSI_NO_VECTOR);
    cr_assert(inject(60, 0));
    receive_and_check(0, 1);
    assert_no_violations();
}

Test(virtio_net, without_a_wake_message_no_msix_is_touched)
{
    bring_up_default();
    cr_assert_not(pci_model_peek32(model->fn, 0x98) & (PCI_MSIX_CTRL_ENABLE << 16));
    cr_assert_null(strstr(vnet_model_trace(model), "msix0"));
    cr_assert_eq(netdev_rx_wake(dev, 1), NETDEV_WAKE_NONE);
    assert_no_violations();
}

Test(virtio_net, a_stopped_port_cannot_wake)
{
    bring_up_wake_default(true);
    dev->ops->stop(dev);
    cr_assert_eq(netdev_rx_wake(dev, 1), NETDEV_WAKE_NONE);
}

/* ---- the model catches what a bad driver does ---- */

#define CC(off)  (model->bar + (off))

static void model_only(void)
{
    struct vnet_model_config mc;

    vnet_model_default_config(&mc);
    model_up(&mc);
}

Test(virtio_net_model, flags_features_written_before_driver_status)
{
    model_only();
    mmio_write8(CC(0x14), 0);
    mmio_write8(CC(0x14), VIRTIO_STATUS_ACKNOWLEDGE);
    mmio_write32(CC(0x08), 1);
    mmio_write32(CC(0x0c), 1);                 /* VERSION_1, before DRIVER */
    cr_assert(violated("before DRIVER"));
}

Test(virtio_net_model, flags_features_the_device_did_not_offer)
{
    model_only();
    mmio_write8(CC(0x14), VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
    mmio_write32(CC(0x08), 0);
    mmio_write32(CC(0x0c), 1u << 6);           /* bit 6: not offered */
    cr_assert(violated("does not offer"));
}

Test(virtio_net_model, flags_features_ok_without_version_1)
{
    model_only();
    mmio_write8(CC(0x14), VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
    mmio_write8(CC(0x14), VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER |
                          VIRTIO_STATUS_FEATURES_OK);
    cr_assert(violated("without VIRTIO_F_VERSION_1"));
    cr_assert_not(mmio_read8(CC(0x14)) & VIRTIO_STATUS_FEATURES_OK, "and it does not stick");
}

Test(virtio_net_model, flags_bad_queue_sizes_and_unset_or_misaligned_rings)
{
    void *ring = dma_alloc(8192, 64);

    model_only();
    mmio_write16(CC(0x16), 0);
    mmio_write16(CC(0x18), 100);
    cr_assert(violated("not a power of two"));
    mmio_write16(CC(0x18), 512);
    cr_assert_eq(vnet_model_nb_violations(model), 2, "larger than the maximum");
    mmio_write16(CC(0x1c), 1);
    cr_assert(violated("before its ring addresses"));
    mmio_write32(CC(0x20), (uint32_t)dma_addr(ring) + 8);     /* 8, not 16-aligned */
    mmio_write32(CC(0x24), (uint32_t)(dma_addr(ring) >> 32));
    mmio_write32(CC(0x28), (uint32_t)dma_addr(ring) + 4096);
    mmio_write32(CC(0x2c), (uint32_t)(dma_addr(ring) >> 32));
    mmio_write32(CC(0x30), (uint32_t)dma_addr(ring) + 6144);
    mmio_write32(CC(0x34), (uint32_t)(dma_addr(ring) >> 32));
    mmio_write16(CC(0x1c), 1);
    cr_assert(violated("not 16-aligned"));
    cr_assert_not(model->q[0].enabled);
}

Test(virtio_net_model, flags_driver_ok_before_queues_and_with_vectors)
{
    model_only();
    mmio_write8(CC(0x14), VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
    mmio_write32(CC(0x08), 1);
    mmio_write32(CC(0x0c), 1);
    mmio_write8(CC(0x14), 0x0b);
    mmio_write8(CC(0x14), 0x0f);
    cr_assert(violated("before queue 0"));
    cr_assert(violated("MSI-X vector"));
    cr_assert(violated("msix_config"));
    cr_assert(violated("bus mastering"));
}

Test(virtio_net_model, flags_wrong_access_widths)
{
    model_only();
    (void)mmio_read32(CC(0x14));               /* status is one byte */
    cr_assert(violated("with 4 bytes"));
}

Test(virtio_net_model, flags_needless_and_repeated_doorbells)
{
    bring_up_default();
    vnet_model_mark_burst(model);
    mmio_write16(model->bar + 0x3000 + 4, 1);  /* TX: nothing published */
    cr_assert(violated("did not need"));
    cr_assert_eq(model->q[1].nb_needless_notify, 1);
    mmio_write16(model->bar + 0x3000 + 4, 1);
    cr_assert(violated("doorbells in one burst call"));
}

Test(virtio_net_model, flags_a_publish_without_the_doorbell_it_needed)
{
    struct pktbuf *b;
    volatile uint16_t *avail_idx;

    bring_up_default();
    b = tx_packet(60, 0);
    /* Hand-craft what a driver forgetting its doorbell would leave. */
    avail_idx = (volatile uint16_t *)(uintptr_t)(model->q[1].driver_addr + 2);
    {
        volatile uint64_t *d = (volatile uint64_t *)(uintptr_t)model->q[1].desc_addr;
        volatile uint16_t *slot = (volatile uint16_t *)(uintptr_t)(model->q[1].driver_addr + 4);

        d[0] = pktbuf_data_dma(b) - 12;
        d[1] = 12 + 60;
        *slot = 0;
    }
    *avail_idx = 1;
    vnet_model_mark_burst(model);
    cr_assert(violated("without the doorbell"));
    cr_assert_eq(model->q[1].nb_missed_notify, 1);
}

Test(virtio_net_model, flags_descriptors_outside_dma_memory_and_breaks)
{
    static uint8_t not_dma[128];

    bring_up_default();
    {
        volatile uint64_t *d = (volatile uint64_t *)(uintptr_t)model->q[1].desc_addr;
        volatile uint16_t *avail = (volatile uint16_t *)(uintptr_t)model->q[1].driver_addr;

        d[0] = (uint64_t)(uintptr_t)not_dma;
        d[1] = 12 + 60;
        avail[2] = 0;
        avail[1] = 1;
    }
    mmio_write16(model->bar + 0x3000 + 4, 1);
    cr_assert(violated("outside DMA memory"));
    cr_assert(model->broken);
    cr_assert(mmio_read8(CC(0x14)) & VIRTIO_STATUS_NEEDS_RESET);
}

Test(virtio_net_model, flags_msix_messages_that_miss_the_local_apic)
{
    struct virtio_net_opts opts = { .event_idx = true, .wake_msi_addr = 0x10000000ull,
                                    .wake_msi_data = 5 };
    struct netdev_config cfg;

    model_only();
    pool = make_pool(POOL_BUFS);
    cfg = port_config(256, 256);
    cr_assert_eq(virtio_net_create_opts(&model->ops, &model->dev, &cfg, &opts, &dev), 0);
    cr_assert(inject(60, 0));                  /* the first frame always interrupts */
    cr_assert(violated("not the local APIC"));
    cr_assert(violated("vector 5"));
}

Test(virtio_net_model, masked_entries_hold_the_message_until_unmasked)
{
    volatile uint8_t *entry0;

    bring_up_wake_default(true);
    entry0 = (volatile uint8_t *)(uintptr_t)model->dev.bar[1].base;
    mmio_write32(entry0 + 12, 1);              /* mask entry 0 */
    cr_assert(inject(60, 0));
    cr_assert_eq(model->nb_msi, 0);
    cr_assert_eq(model->msix_pending, 1, "pending bit instead");
    mmio_write32(entry0 + 12, 0);
    cr_assert_eq(model->nb_msi, 1, "sent on unmask");
    cr_assert_eq(model->msix_pending, 0);
    mmio_write32(entry0 + 8, 34);              /* changing an unmasked entry */
    cr_assert(violated("changed while unmasked"));
}
